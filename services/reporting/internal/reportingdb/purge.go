package reportingdb

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/purgebus"
)

var _ purgebus.Store = (*Store)(nil)

// PurgeLabExports deletes the lab's exports and its audit trail in one
// transaction.
func (s *Store) PurgeLabExports(ctx context.Context, labID uuid.UUID) (int64, error) {
	var exports int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if exports, err = s.queries.WithTx(tx).PurgeLabExports(ctx, labID); err != nil {
			return err
		}
		_, err = auditpg.PurgeLab(ctx, tx, Schema, labID)
		return err
	})
	return exports, err
}
