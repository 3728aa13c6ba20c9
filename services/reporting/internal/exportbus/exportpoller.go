package exportbus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/process"
)

// ExportPollTx is what one pass of the safety net reads and changes, in
// one transaction.
type ExportPollTx interface {
	// QueuedExportsDue returns queued exports (id and attempts made) not
	// queued again for longer than grace, locked for the transaction.
	QueuedExportsDue(ctx context.Context, grace time.Duration, batch int32) ([]Export, error)
	TouchQueuedExports(ctx context.Context, ids []uuid.UUID) error
	// ExpiredExportLeases returns running exports whose lease ended (id,
	// attempts, max attempts, last worker), locked for the transaction.
	ExpiredExportLeases(ctx context.Context, batch int32) ([]Export, error)
	RequeueExpiredExport(ctx context.Context, id uuid.UUID, message string) error
	FailExpiredExport(ctx context.Context, id uuid.UUID, message string) error
}

// Poll is one pass of the safety net, safe with several reporting
// processes (rows are taken with SKIP LOCKED): exports queued for longer
// than a poll interval are queued again, in case their task was lost
// (Redis flushed, or asynq archived it; one still waiting is left alone);
// running exports whose lease expired (their worker killed, or cut off) go
// back to the queue while attempts remain, and fail when none do.
func (e *Exports) Poll(ctx context.Context) error {
	// Redis is called after the commit: a Redis outage must not stop the
	// poller from failing expired exports, nor hold their rows locked.
	var toQueue []Export
	err := e.store.InPollTx(ctx, func(tx ExportPollTx) error {
		due, err := tx.QueuedExportsDue(ctx, e.cfg.PollInterval, e.cfg.PollBatch)
		if err != nil {
			return fmt.Errorf("queued exports: %w", err)
		}
		ids := make([]uuid.UUID, len(due))
		for i, export := range due {
			ids[i] = export.ID
		}
		if err := tx.TouchQueuedExports(ctx, ids); err != nil {
			return fmt.Errorf("touch queued exports: %w", err)
		}
		toQueue = append(toQueue, due...)
		expired, err := tx.ExpiredExportLeases(ctx, e.cfg.PollBatch)
		if err != nil {
			return fmt.Errorf("expired export leases: %w", err)
		}
		for _, export := range expired {
			if export.Attempts < export.MaxAttempts {
				err = tx.RequeueExpiredExport(ctx, export.ID, fmt.Sprintf("the lease of worker %s expired; retrying (attempt %d of %d)",
					export.LockedBy, export.Attempts+1, export.MaxAttempts))
				toQueue = append(toQueue, export)
			} else {
				err = tx.FailExpiredExport(ctx, export.ID, fmt.Sprintf("gave up after %d attempts: the last worker (%s) stopped renewing its lease (killed, or cut off from the database)",
					export.Attempts, export.LockedBy))
			}
			if err != nil {
				return fmt.Errorf("expired export %s: %w", export.ID, err)
			}
		}
		if len(due) > 0 {
			e.logger.DebugContext(ctx, "queued exports queued again", "exports", len(due))
		}
		if len(expired) > 0 {
			e.logger.WarnContext(ctx, "exports whose worker's lease expired retried or failed", "exports", len(expired))
		}
		return nil
	})
	if err != nil {
		return err
	}
	var failed error
	for _, export := range toQueue {
		if err := e.queue.Enqueue(ctx, export.ID, export.Attempts); err != nil {
			failed = fmt.Errorf("queue export %s (the next poll retries): %w", export.ID, err)
		}
	}
	return failed
}

// RunPoller runs the safety net, and the retention's sweep, every poll
// interval until ctx ends.
func (e *Exports) RunPoller(ctx context.Context) {
	process.Every(ctx, e.cfg.PollInterval, false, func(ctx context.Context) {
		if err := e.Poll(ctx); err != nil && ctx.Err() == nil {
			e.logger.ErrorContext(ctx, "export poll failed", "error", err)
		}
		if _, err := e.SweepExports(ctx); err != nil && ctx.Err() == nil {
			e.logger.ErrorContext(ctx, "export retention sweep failed", "error", err)
		}
	})
}
