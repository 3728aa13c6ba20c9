// Package importdb applies an import in the calc schema: one transaction
// that holds the import (applied exactly once, an earlier attempt's
// session ended), replaces the target's CSV rows when asked, and refreshes
// the planner's statistics after a large one.
package importdb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
)

// Store implements importbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
	// statementTimeout bounds each statement of an import's transaction
	// (its COPYs last as long as the file takes to stream).
	statementTimeout time.Duration
}

// NewStore returns a store over pool whose imports bound each statement by
// statementTimeout (0: the session's statement_timeout).
func NewStore(pool *pgxpool.Pool, statementTimeout time.Duration) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool), statementTimeout: statementTimeout}
}

type importTx struct{ ledgerdb.Tx }

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
			session, strconv.FormatInt(s.statementTimeout.Milliseconds(), 10)); err != nil {
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
		counts, err = fn(&importTx{ledgerdb.NewTx(tx, queries)})
		if err != nil {
			return err
		}
		appliedNow = true
		return queries.RecordAppliedImport(ctx, calcdb.RecordAppliedImportParams{
			ImportID: importID, RowsTotal: counts.Total, RowsOk: counts.OK, RowsRejected: counts.Rejected,
			LabID: &job.LabID, Year: &job.Year,
		})
	})
	return appliedNow, counts, err
}

func (t *importTx) DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, kind string) (ledger.RollupSums, int64, error) {
	rows, err := t.Queries.DeleteCSVEmissions(ctx, calcdb.DeleteCSVEmissionsParams{LabID: labID, Year: year, Kind: kind})
	if err != nil {
		return nil, 0, err
	}
	sums := ledger.RollupSums{}
	for _, row := range rows {
		sums[ledger.RollupKey{EmissionType: row.EmissionType, Scope: row.Scope, Variant: row.Variant,
			FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit, FactorID: row.FactorID}] = &ledger.RollupSum{
			Quantity: row.Quantity, KgCO2e: row.KgCo2e, UncertaintySq: row.UncertaintySq, UncertaintyLinear: row.UncertaintyLinear, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback,
		}
	}
	activities, err := t.Queries.DeleteCSVActivities(ctx, calcdb.DeleteCSVActivitiesParams{LabID: labID, Year: year, Kind: kind})
	return sums, activities, err
}

// Analyze refreshes the planner's statistics of activities and emissions
// (ANALYZE samples a fixed number of rows, whatever the tables' size).
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "ANALYZE calc.activities, calc.emissions")
	return err
}
