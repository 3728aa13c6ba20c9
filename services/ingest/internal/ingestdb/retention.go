package ingestdb

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SweepFiles implements ingestbus.RetentionStore: the jobs are marked and
// their chunks deleted in one transaction.
func (s *Store) SweepFiles(ctx context.Context, olderThan time.Duration, batch int32) ([]uuid.UUID, error) {
	var swept []uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		var err error
		swept, err = queries.MarkFilesSwept(ctx, MarkFilesSweptParams{RetentionSeconds: olderThan.Seconds(), Batch: batch})
		if err != nil || len(swept) == 0 {
			return err
		}
		_, err = queries.DeleteFilesOf(ctx, swept)
		return err
	})
	return swept, err
}
