package exportbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/process"
)

// Run writes the ZIP of an export, the work of its task. The worker claims
// the export (a lease it renews a third of the lease apart) and writes the
// ZIP in one transaction that commits only while the lease is its own. A
// failed attempt goes back to the queue, saying why, while attempts remain
// (the safety net queues it again after a poll interval), and fails the
// export when none do. A worker stopped by shutdown leaves the export to
// its lease; the poller retries it.
func (e *Exports) Run(ctx context.Context, id uuid.UUID) error {
	export, found, err := e.store.ClaimExport(ctx, id, e.worker, e.cfg.Lease)
	if err != nil {
		return fmt.Errorf("claim export %s: %w", id, err)
	}
	log := e.logger.With("export", id)
	if !found {
		log.InfoContext(ctx, "export not claimable (finished, held by another worker or out of attempts); dropping the task")
		return nil
	}
	log = log.With("attempt", export.Attempts)
	log.InfoContext(ctx, "export started")
	started := time.Now()
	timed := func(result string) {
		e.attempts.Record(ctx, time.Since(started).Seconds(), metric.WithAttributes(attribute.String("result", result)))
	}

	work, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go e.keepLease(work, stop, id)
	labIDs := make([]string, 0, len(export.LabIDs))
	for _, labID := range export.LabIDs {
		labIDs = append(labIDs, labID.String())
	}
	err = e.store.WriteExport(work, id, e.worker, func(w io.Writer) (int64, error) {
		return WriteExportZIP(work, w, e.calc, labIDs, export.Year)
	})
	if err == nil {
		timed("done")
		log.InfoContext(ctx, "export done")
		return nil
	}
	if errors.Is(context.Cause(work), ErrLeaseLost) {
		err = ErrLeaseLost
	}
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.WarnContext(ctx, "lease lost: another attempt has the export; nothing kept")
		return nil
	case ctx.Err() != nil:
		log.WarnContext(ctx, "stopped by shutdown; the export is retried when its lease expires")
		return nil
	}
	attemptErr := fmt.Errorf("export %s, attempt %d of %d: %w", id, export.Attempts, export.MaxAttempts, err)
	if export.Attempts < export.MaxAttempts {
		timed("retry")
		err = e.store.ReleaseExport(context.WithoutCancel(ctx), id, e.worker,
			fmt.Sprintf("attempt %d of %d failed: %v; retrying", export.Attempts, export.MaxAttempts, err))
	} else {
		timed("failed")
		err = e.store.FailExport(context.WithoutCancel(ctx), id, e.worker,
			fmt.Sprintf("failed after %d attempts: %v", export.Attempts, err))
	}
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return errors.Join(attemptErr, fmt.Errorf("record the failed attempt (the lease will expire and the poller decides): %w", err))
	}
	return attemptErr
}

// keepLease renews the worker's lease a third of the lease apart, and
// stops the work when it is lost.
func (e *Exports) keepLease(ctx context.Context, stop context.CancelCauseFunc, id uuid.UUID) {
	process.Every(ctx, max(e.cfg.Lease/3, 100*time.Millisecond), false, func(ctx context.Context) {
		err := e.store.RenewExportLease(ctx, id, e.worker, e.cfg.Lease)
		switch {
		case errors.Is(err, ErrLeaseLost):
			stop(ErrLeaseLost) // ends ctx, and so the renewals
		case err != nil && ctx.Err() == nil:
			e.logger.WarnContext(ctx, "export lease not renewed; retrying", "export", id, "error", err)
		}
	})
}
