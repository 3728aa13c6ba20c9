// Package purgedb deletes a lab's rows from the calc schema.
package purgedb

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/purgebus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
)

// Store implements purgebus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

var _ purgebus.Store = (*Store)(nil)

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

// PurgeLab deletes, in one transaction, emissions before their activities
// and superseded emissions before their recalculations (each found through
// the other's index).
func (s *Store) PurgeLab(ctx context.Context, labID uuid.UUID) (map[string]int64, error) {
	deleted := map[string]int64{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		steps := []struct {
			table string
			run   func(context.Context, uuid.UUID) (int64, error)
		}{
			{"emissions", queries.PurgeLabEmissions},
			{"activities", queries.PurgeLabActivities},
			{"superseded_emissions", queries.PurgeLabSupersededEmissions},
			{"recalculations", queries.PurgeLabRecalculations},
			{"recalc_requests", queries.PurgeLabRecalcRequests},
			{"rollups", queries.PurgeLabRollups},
			{"activity_counts", queries.PurgeLabActivityCounts},
			{"applied_imports", queries.PurgeLabAppliedImports},
			{"electricity_contracts", queries.PurgeLabContracts},
			// A scenario's copy, edits and results go with it (ON DELETE CASCADE).
			{"scenarios", func(ctx context.Context, labID uuid.UUID) (int64, error) {
				tag, err := tx.Exec(ctx, `DELETE FROM calc.scenarios WHERE lab_id = $1`, labID)
				return tag.RowsAffected(), err
			}},
			{"audit_events", func(ctx context.Context, labID uuid.UUID) (int64, error) {
				return auditpg.PurgeLab(ctx, tx, ledgerdb.Schema, labID)
			}},
		}
		for _, step := range steps {
			n, err := step.run(ctx, labID)
			if err != nil {
				return fmt.Errorf("purge %s of lab %s: %w", step.table, labID, err)
			}
			deleted[step.table] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}
