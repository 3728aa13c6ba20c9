package reportingdb

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/purgebus"
)

var _ purgebus.Store = (*Store)(nil)

// PurgeLab deletes the lab's exports, its objective and its audit trail in
// one transaction.
func (s *Store) PurgeLab(ctx context.Context, labID uuid.UUID) (exports, objectives int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		var err error
		if exports, err = queries.PurgeLabExports(ctx, labID); err != nil {
			return err
		}
		if objectives, err = queries.PurgeLabObjective(ctx, labID); err != nil {
			return err
		}
		_, err = auditpg.PurgeLab(ctx, tx, Schema, labID)
		return err
	})
	return exports, objectives, err
}
