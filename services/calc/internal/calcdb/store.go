// Package calcdb stores factors, activities, emissions and rollups in the
// calc schema: sqlc queries from queries/*.sql, and COPY for bulk writes.
package calcdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// Store implements calcbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *Queries
	// importStatementTimeout bounds each statement of an import's
	// transaction (its COPYs last as long as the file takes to stream).
	importStatementTimeout time.Duration
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: New(pool), importStatementTimeout: 30 * time.Minute}
}

// WithImportStatementTimeout returns the store with imports' statements
// bounded by d (0: the session's statement_timeout).
func (s *Store) WithImportStatementTimeout(d time.Duration) *Store {
	copied := *s
	copied.importStatementTimeout = d
	return &copied
}

// ApplyImport holds the import by inserting its row first: a concurrent
// attempt at the same import waits on that row until this transaction ends,
// then finds it applied.
//
// The transaction's session is named after the job (application_name): an
// attempt that finds an earlier attempt's session holding the row ends that
// session. The job is this attempt's now (ingest gave it the lease), so
// the earlier worker lost its lease — frozen, or cut off from ingest — and
// must write nothing; left alone, it would hold the row and the target's
// lock for as long as it stayed frozen.
func (s *Store) ApplyImport(ctx context.Context, job importbus.Job, fn func(tx importbus.Tx) (importbus.Counts, error)) (bool, importbus.Counts, error) {
	var counts importbus.Counts
	appliedNow := false
	importID := job.ID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		session := importSession(importID)
		if _, err := tx.Exec(ctx, "SELECT set_config('application_name', $1, true), set_config('statement_timeout', $2, true)",
			session, strconv.FormatInt(s.importStatementTimeout.Milliseconds(), 10)); err != nil {
			return fmt.Errorf("name the import's session: %w", err)
		}
		err := takeOver(ctx, tx, session, func() error {
			_, err := queries.ClaimImport(ctx, importID)
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			previous, err := queries.GetAppliedImport(ctx, importID)
			counts = importbus.Counts{Total: previous.RowsTotal, OK: previous.RowsOk, Rejected: previous.RowsRejected}
			return err
		}
		if err != nil {
			return err
		}
		counts, err = fn(&importTx{tx: tx, queries: queries})
		if err != nil {
			return err
		}
		appliedNow = true
		return queries.RecordAppliedImport(ctx, RecordAppliedImportParams{
			ImportID: importID, RowsTotal: counts.Total, RowsOk: counts.OK, RowsRejected: counts.Rejected,
			LabID: &job.LabID, Year: &job.Year,
		})
	})
	return appliedNow, counts, err
}

type importTx struct {
	tx      pgx.Tx
	queries *Queries
}

func (t *importTx) DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, kind string) (ledger.RollupSums, int64, error) {
	rows, err := t.queries.DeleteCSVEmissions(ctx, DeleteCSVEmissionsParams{LabID: labID, Year: year, Kind: kind})
	if err != nil {
		return nil, 0, err
	}
	sums := ledger.RollupSums{}
	for _, row := range rows {
		sums[ledger.RollupKey{EmissionType: row.EmissionType, Scope: row.Scope, Variant: row.Variant,
			FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit}] = &ledger.RollupSum{
			Quantity: row.Quantity, KgCO2e: row.KgCo2e, UncertaintySq: row.UncertaintySq, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback,
		}
	}
	activities, err := t.queries.DeleteCSVActivities(ctx, DeleteCSVActivitiesParams{LabID: labID, Year: year, Kind: kind})
	return sums, activities, err
}

var activityColumns = []string{"id", "lab_id", "year", "module", "kind", "source", "import_id", "row_no", "inputs"}

func (t *importTx) CopyActivities(ctx context.Context, next func() (*ledger.Activity, error)) (int64, error) {
	return copyBinary(ctx, t.tx, "calc.activities", activityColumns, func(r *binaryRow) (bool, error) {
		row, err := next()
		if err != nil || row == nil {
			return false, err
		}
		r.begin()
		r.uuid(row.ID)
		r.uuid(row.LabID)
		r.int4(row.Year)
		r.text(row.Module)
		r.text(row.Kind)
		r.text(row.Source)
		if row.ImportID != nil {
			r.uuid(*row.ImportID)
		} else {
			r.null()
		}
		if row.RowNo != nil {
			r.int8(*row.RowNo)
		} else {
			r.null()
		}
		r.text(string(row.Inputs))
		return true, nil
	})
}

var emissionColumns = []string{"activity_id", "variant", "lab_id", "year", "module", "emission_type", "scope", "quantity",
	"quantity_unit", "kg_co2e", "factor_id", "factor_dataset", "factor_version", "uncertainty_pct", "overridden", "fallback"}

func (t *importTx) CopyEmissions(ctx context.Context, next func() (*ledger.Emission, error)) (int64, error) {
	return copyBinary(ctx, t.tx, "calc.emissions", emissionColumns, func(r *binaryRow) (bool, error) {
		row, err := next()
		if err != nil || row == nil {
			return false, err
		}
		r.begin()
		r.uuid(row.ActivityID)
		r.text(row.Variant)
		r.uuid(row.LabID)
		r.int4(row.Year)
		r.text(row.Module)
		r.text(row.EmissionType)
		r.int2(row.Scope)
		r.float8(row.Quantity)
		r.text(row.QuantityUnit)
		r.float8(row.KgCO2e)
		if row.FactorID != (uuid.UUID{}) {
			r.uuid(row.FactorID)
		} else {
			r.null()
		}
		r.text(row.FactorDataset)
		r.text(row.FactorVersion)
		r.float8(row.UncertaintyPct)
		r.boolean(row.Overridden)
		r.boolean(row.Fallback)
		return true, nil
	})
}

func (t *importTx) LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.queries.LockTarget(ctx, LockTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

type rollupRow struct {
	year   int32
	module string
	key    ledger.RollupKey
}

func (t *importTx) ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...ledger.RollupDelta) error {
	queries, batch := newBatch()
	queueRollups(ctx, queries, labID, deltas)
	return send(ctx, t.tx, batch)
}

// queueRollups queues the statements that add deltas to the lab's rollups
// and activity counts, rows taken in a fixed order so concurrent writers
// cannot deadlock, and remove the rows a subtraction emptied.
func queueRollups(ctx context.Context, queries *Queries, labID uuid.UUID, deltas []ledger.RollupDelta) {
	merged := map[rollupRow]*ledger.RollupSum{}
	for _, delta := range deltas {
		for key, sum := range delta.Sums {
			row := rollupRow{year: delta.Year, module: delta.Module, key: key}
			total := merged[row]
			if total == nil {
				total = &ledger.RollupSum{}
				merged[row] = total
			}
			total.Merge(sum, delta.Sign)
		}
	}
	rows := make([]rollupRow, 0, len(merged))
	years := map[int32]bool{}
	for row := range merged {
		rows = append(rows, row)
		years[row.year] = true
	}
	// Every writer updates rollup rows in this order: none waits for
	// another in a cycle.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.year != b.year {
			return a.year < b.year
		}
		if a.module != b.module {
			return a.module < b.module
		}
		return a.key.Less(b.key)
	})
	for _, row := range rows {
		sum := merged[row]
		_ = queries.AddToRollup(ctx, AddToRollupParams{
			LabID: labID, Year: row.year, Module: row.module, EmissionType: row.key.EmissionType, Scope: row.key.Scope,
			Variant: row.key.Variant, FactorDataset: row.key.FactorDataset, FactorVersion: row.key.FactorVersion,
			QuantityUnit: row.key.QuantityUnit, Quantity: sum.Quantity, KgCo2e: sum.KgCO2e, UncertaintySq: sum.UncertaintySq,
			Entries: sum.Entries, Overridden: sum.Overridden, Fallback: sum.Fallback,
		})
	}
	queueActivityCounts(ctx, queries, labID, deltas)
	for year := range years {
		if subtracts(deltas, year) {
			_ = queries.DeleteEmptyRollups(ctx, DeleteEmptyRollupsParams{LabID: labID, Year: year})
			_ = queries.DeleteEmptyActivityCounts(ctx, DeleteEmptyActivityCountsParams{LabID: labID, Year: year})
		}
	}
}

// subtracts reports whether a delta takes something away from year: only
// then can a row of it become empty.
func subtracts(deltas []ledger.RollupDelta, year int32) bool {
	for _, delta := range deltas {
		if delta.Year == year && delta.Sign < 0 {
			return true
		}
	}
	return false
}

type countRow struct {
	year                 int32
	module, kind, source string
}

// queueActivityCounts adds the deltas' activity counts, in one order.
func queueActivityCounts(ctx context.Context, queries *Queries, labID uuid.UUID, deltas []ledger.RollupDelta) {
	merged := map[countRow]int64{}
	for _, delta := range deltas {
		if delta.Kind != "" && delta.Activities != 0 {
			merged[countRow{delta.Year, delta.Module, delta.Kind, delta.Source}] += int64(delta.Sign) * delta.Activities
		}
	}
	rows := make([]countRow, 0, len(merged))
	for row, n := range merged {
		if n != 0 {
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.year != b.year {
			return a.year < b.year
		}
		return a.module+"\x00"+a.kind+"\x00"+a.source < b.module+"\x00"+b.kind+"\x00"+b.source
	})
	for _, row := range rows {
		_ = queries.AddToActivityCount(ctx, AddToActivityCountParams{
			LabID: labID, Year: row.year, Module: row.module, Kind: row.kind, Source: row.source, Activities: merged[row],
		})
	}
}

// Analyze refreshes the planner's statistics of activities and emissions
// (ANALYZE samples a fixed number of rows, whatever the tables' size).
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "ANALYZE calc.activities, calc.emissions")
	return err
}

func (s *Store) Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error) {
	return factorsOf(ctx, s.queries, dataset, version)
}

func factorsOf(ctx context.Context, queries *Queries, dataset, version string) ([]factors.Factor, error) {
	rows, err := queries.ListFactors(ctx, ListFactorsParams{Dataset: dataset, Version: version})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = toFactor(row)
	}
	return all, err
}

func (s *Store) EnsureFactors(ctx context.Context, all []factors.Factor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := ensureDatasetVersions(ctx, queries, all); err != nil {
			return err
		}
		for _, f := range all {
			if err := queries.InsertFactor(ctx, InsertFactorParams{
				Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification,
				Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit, Source: f.Source, Licence: f.Licence,
				GwpSet: f.GWPSet, Boundary: f.Boundary, RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Rollups(ctx context.Context, labID uuid.UUID, year int32) ([]ledger.Rollup, error) {
	rows, err := s.queries.ListRollups(ctx, ListRollupsParams{LabID: labID, Year: year})
	rollups := make([]ledger.Rollup, len(rows))
	for i, row := range rows {
		rollups[i] = ledger.Rollup{Module: row.Module, RollupKey: ledger.RollupKey{EmissionType: row.EmissionType, Scope: row.Scope,
			Variant: row.Variant, FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit},
			Quantity: row.Quantity, KgCO2e: row.KgCo2e, UncertaintyKg: row.UncertaintyKg, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback, UpdatedAt: row.UpdatedAt}
	}
	return rollups, err
}
