package ingestbus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
)

// PollerConfig tunes the safety net.
type PollerConfig struct {
	// Interval is how often the poller looks.
	Interval time.Duration `env:"POLL_INTERVAL, default=10s"`
	// Batch is how many jobs one look handles at most.
	Batch int32 `env:"POLL_BATCH, default=100"`
	// UploadStalledAfter: an upload whose file has not grown for this long
	// was left by a process that died, and is removed (uploads that stall
	// while their process lives are cut at BODY_IDLE_TIMEOUT).
	UploadStalledAfter time.Duration `env:"UPLOAD_STALLED_AFTER, default=10m"`
}

// Poll is one pass of the safety net, safe with several ingest replicas
// (rows are taken with SKIP LOCKED): queued jobs waiting longer than a poll
// interval are queued again, in case their task was lost (enqueueing a job
// whose task still exists does nothing); running jobs whose lease expired go
// back to the queue while attempts remain, and fail when none do.
func (b *Business) Poll(ctx context.Context, cfg PollerConfig) error {
	// Redis is called after the commit: a Redis outage must not stop the
	// poller from failing expired jobs, nor hold job rows locked.
	var toQueue, failed []Job
	err := b.store.InTx(ctx, func(tx Store) error {
		due, err := tx.QueuedJobsDue(ctx, cfg.Interval, cfg.Batch)
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(due))
		for i, job := range due {
			ids[i] = job.ID
		}
		toQueue = append(toQueue, due...)
		if err := tx.TouchQueued(ctx, ids); err != nil {
			return err
		}
		if len(due) > 0 {
			b.logger.DebugContext(ctx, "queued jobs requeued", "jobs", len(due))
		}
		expired, err := tx.ExpiredLeases(ctx, cfg.Batch)
		if err != nil {
			return err
		}
		for _, job := range expired {
			switch {
			case job.CancelRequested:
				err = tx.FailExpired(ctx, job.ID, "cancelled (the worker stopped before it could say so)")
				failed = append(failed, job)
			case job.Attempts < job.MaxAttempts:
				err = tx.RequeueExpired(ctx, job.ID, fmt.Sprintf("the worker stopped answering; retrying (attempt %d of %d)", job.Attempts+1, job.MaxAttempts))
				toQueue = append(toQueue, job)
			default:
				err = tx.FailExpired(ctx, job.ID, fmt.Sprintf("gave up after %d attempts: the worker stopped answering each time", job.Attempts))
				failed = append(failed, job)
			}
			if err == nil {
				err = recordExpired(ctx, tx, job.ID)
			}
			// Which worker it was is for operators, not for users' status.
			b.logger.WarnContext(ctx, "a worker's lease expired", "job", job.ID, "worker", job.LockedBy, "attempts", job.Attempts)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, job := range failed {
		ImportEnded(ctx, b.imports, job.Kind, "ERROR", EndedBySafetyNet)
	}
	if removed, err := b.store.DeleteStalledUploads(ctx, cfg.UploadStalledAfter, cfg.Batch); err != nil {
		return fmt.Errorf("remove stalled uploads: %w", err)
	} else if removed > 0 {
		b.logger.InfoContext(ctx, "stalled uploads removed", "uploads", removed)
	}
	var requeueFailed error
	for _, job := range toQueue {
		// A trace of its own, linked to the request that made the job.
		requeueCtx, span := jobqueue.StartLinked(ctx, "requeue import", job.TraceParent)
		if err := b.queue.Enqueue(requeueCtx, job.ID, job.Attempts); err != nil {
			requeueFailed = fmt.Errorf("requeue %s (the next poll retries): %w", job.ID, err)
			span.RecordError(err)
		}
		span.End()
	}
	return requeueFailed
}

// RunPoller polls every interval until ctx ends.
func (b *Business) RunPoller(ctx context.Context, cfg PollerConfig) {
	process.Every(ctx, cfg.Interval, false, func(ctx context.Context) {
		if err := b.Poll(ctx, cfg); err != nil && ctx.Err() == nil {
			b.logger.ErrorContext(ctx, "poll failed", "error", err)
		}
		b.sweepFiles(ctx)
	})
}

// recordExpired records what the poller did to a job whose lease expired
// (requeued or failed), as the service's own change.
func recordExpired(ctx context.Context, tx Store, id uuid.UUID) error {
	now, err := tx.GetJob(ctx, id)
	if err != nil {
		return err
	}
	action := audit.ActionRetry
	if now.Result != "" {
		action = audit.ActionFail
	}
	return tx.Record(ctx, importEvent(action, nil, now))
}
