package reportingdb

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
)

// pollTx implements exportbus.ExportPollTx in one transaction.
type pollTx struct{ queries *Queries }

// InPollTx implements exportbus.ExportStore.
func (s *Store) InPollTx(ctx context.Context, fn func(tx exportbus.ExportPollTx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(pollTx{queries: s.queries.WithTx(tx)})
	})
}

func (p pollTx) QueuedExportsDue(ctx context.Context, grace time.Duration, batch int32) ([]exportbus.Export, error) {
	rows, err := p.queries.QueuedExportsDue(ctx, QueuedExportsDueParams{GraceSeconds: grace.Seconds(), Batch: batch})
	exports := make([]exportbus.Export, len(rows))
	for i, row := range rows {
		exports[i] = exportbus.Export{ID: row.ID, Attempts: row.Attempts}
	}
	return exports, err
}

func (p pollTx) TouchQueuedExports(ctx context.Context, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return p.queries.TouchQueuedExports(ctx, ids)
}

func (p pollTx) ExpiredExportLeases(ctx context.Context, batch int32) ([]exportbus.Export, error) {
	rows, err := p.queries.ExpiredExportLeases(ctx, batch)
	exports := make([]exportbus.Export, len(rows))
	for i, row := range rows {
		exports[i] = exportbus.Export{ID: row.ID, Attempts: row.Attempts, MaxAttempts: row.MaxAttempts, LockedBy: row.LockedBy}
	}
	return exports, err
}

func (p pollTx) RequeueExpiredExport(ctx context.Context, id uuid.UUID, message string) error {
	return p.queries.RequeueExpiredExport(ctx, RequeueExpiredExportParams{ID: id, Message: message})
}

func (p pollTx) FailExpiredExport(ctx context.Context, id uuid.UUID, message string) error {
	return p.queries.FailExpiredExport(ctx, FailExpiredExportParams{ID: id, Message: message})
}
