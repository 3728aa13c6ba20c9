package tests

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A report sums the lab's validated activities when asked (ADR 019): it
// finds them through their own index, never by reading every activity of
// the lab's year, so a lab of millions of pending rows reports as fast as
// a small one.
func TestAReportFindsTheValidatedActivitiesWithoutReadingTheOthers(t *testing.T) {
	ctx := context.Background()
	store := newStores(t)
	lab := uuid.New()
	// 20,000 pending activities (an import not yet reviewed), three
	// validated ones with their emissions.
	if _, err := store.pool.Exec(ctx, `INSERT INTO calc.activities (id, lab_id, year, module, kind, source, inputs, state)
		SELECT gen_random_uuid(), $1, 2025, 'equipment', 'equipment', 'csv', '{}', CASE WHEN g <= 3 THEN 'validated' ELSE 'pending' END
		FROM generate_series(1, 20000) g`, lab); err != nil {
		t.Fatal(err)
	}
	if _, err := store.pool.Exec(ctx, `INSERT INTO calc.emissions (activity_id, lab_id, year, module, emission_type, scope, quantity, quantity_unit, kg_co2e, factor_version)
		SELECT id, lab_id, year, module, 'electricity', 2, 100, 'kWh', 12.5, '1' FROM calc.activities WHERE lab_id = $1 AND state = 'validated'`, lab); err != nil {
		t.Fatal(err)
	}
	if _, err := store.pool.Exec(ctx, "ANALYZE calc.activities, calc.emissions"); err != nil {
		t.Fatal(err)
	}
	scans := func() (validatedIndex, activitiesRead int64) {
		t.Helper()
		if err := store.pool.QueryRow(ctx, `SELECT
			coalesce((SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = 'calc' AND indexrelname = 'activities_validated_idx'), 0),
			(SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE schemaname = 'calc' AND relname = 'activities')`).
			Scan(&validatedIndex, &activitiesRead); err != nil {
			t.Fatal(err)
		}
		return validatedIndex, activitiesRead
	}
	// The statistics reach the views within a second of a transaction's end.
	settled := func(before func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !before() && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			if _, err := store.pool.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var indexBefore, readBefore int64
	settled(func() bool {
		index, read := scans()
		same := index == indexBefore && read == readBefore
		indexBefore, readBefore = index, read
		return same
	})

	figures, err := store.reportData.Figures(ctx, []uuid.UUID{lab}, []int32{2025})
	if err != nil {
		t.Fatal(err)
	}
	if len(figures.Validated) != 1 || figures.Validated[0].Activities != 3 || figures.Validated[0].KgCO2e != 37.5 {
		t.Fatalf("validated totals: %+v", figures.Validated)
	}
	var index, read int64
	settled(func() bool { index, read = scans(); return index > indexBefore })
	if index == indexBefore || read-readBefore > 100 {
		t.Fatalf("the report read %d activities (validated index scanned %d times) to find 3 validated ones among 20,000", read-readBefore, index-indexBefore)
	}
}
