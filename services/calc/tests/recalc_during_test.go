package tests

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
)

// An activation that comes while a recalculation of the target is about to
// commit (after it read the asks) is not lost: the task goes round again
// with the new version.
func TestAnActivationDuringARecalculationIsRecomputed(t *testing.T) {
	ctx := adminCtx
	logger, store, cache, authorizer, lab, labs, entries := newSwissLab(t)
	if _, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
		"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "350",
	}); err != nil {
		t.Fatal(err)
	}
	kWh := 168 * 350 * 52 / 1000.0

	tasks := jobqueuetest.New(t, "calc-test")
	queue := calcqueue.New(tasks.Queue, calcqueue.Config{RecalcDelay: time.Hour})
	datasets := datasetbus.NewDatasets(logger, store.datasets, authorizer, queue, recalcbus.NewAsks(logger, store.recalc, queue), cache, datasetbus.Config{MaxUploadBytes: 1 << 20})
	for version, value := range map[string]string{"2": "0.15", "3": "0.2"} {
		file := []byte(header + "grid," + version + ",electricity,electricity_grid,location,CH,2025," + value + ",kWh,test figure,CC0,AR6,life_cycle,,10\n")
		created, err := datasets.Upload(ctx, "grid", version, "", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if err := datasets.Sync(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false); err != nil {
		t.Fatal(err)
	}

	// Another transaction holds the lab's rollup rows: the recalculation
	// reads the asks, computes, and waits there to write its totals.
	blocker, err := store.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background()) //nolint:errcheck // released below
	if _, err := blocker.Exec(ctx, "SELECT * FROM calc.rollups WHERE lab_id = $1 FOR UPDATE", lab); err != nil {
		t.Fatal(err)
	}
	recalculator := recalcbus.NewRecalculator(logger, store.recalc, labs, cache, recalcbus.Config{Batch: 100})
	done := make(chan error, 1)
	go func() {
		done <- recalculator.Recalculate(ctx, recalcbus.Target{LabID: lab, Year: 2025, Kind: "equipment"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := store.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%calc.rollups%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recalculation never reached its rollups")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Now version 3 is activated, then the rollups are let go.
	if _, err := datasets.Activate(ctx, "grid", "3", []int32{2025}, false); err != nil {
		t.Fatal(err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	recalculations, err := store.recalc.ListRecalculations(ctx, lab, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if len(recalculations) != 2 || recalculations[0].To.Version != "3" || recalculations[1].To.Version != "2" {
		t.Fatalf("recalculations, newest first: %+v", recalculations)
	}
	if newest := recalculations[0]; newest.FromVersions[0] != "grid 2" || !near(newest.KgBefore, kWh*0.15) || !near(newest.KgAfter, kWh*0.2) {
		t.Fatalf("second round: %+v", newest)
	}
	rollups := store.rollups(ctx, t, lab, 2025)
	// The total (variant "") is the new version's; so is every other variant.
	for _, rollup := range rollups {
		if rollup.FactorVersion != "3" || (rollup.Variant == "" && !near(rollup.KgCO2e, kWh*0.2)) {
			t.Fatalf("rollups: %+v", rollups)
		}
	}
}
