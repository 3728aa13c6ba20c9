package ingestbus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Changes tells which jobs changed (pgnotify.Changes on JobChangedChannel,
// over PostgreSQL's LISTEN/NOTIFY).
type Changes interface {
	// Subscribe returns a channel signalled after each change of the job
	// whose id is key, and the function that ends the subscription.
	Subscribe(key string) (<-chan struct{}, func())
}

// JobChangedChannel is where the trigger of migration 00006 notifies the id
// of a job whose state, counts or progress changed.
const JobChangedChannel = "ingest_job_changed"

// WatchConfig bounds the watchers of one process.
type WatchConfig struct {
	// MaxWatchers is how many watches one ingest process serves at once;
	// one more is refused (ResourceExhausted) until another ends.
	MaxWatchers int64 `env:"IMPORT_WATCH_MAX, default=1000"`
	// PollInterval is how often a watcher re-reads its job without being
	// told of a change: a safety net for notifications missed while the
	// listening connection was down.
	PollInterval time.Duration `env:"IMPORT_WATCH_POLL_INTERVAL, default=5s"`
	// Keepalive: a job unchanged this long is sent again, so the stream is
	// never idle as long as BODY_IDLE_TIMEOUT (which would cut it).
	Keepalive time.Duration `env:"IMPORT_WATCH_KEEPALIVE, default=15s"`
	// MaxDuration ends a watch that lasts longer (the client may watch
	// again): no stream is held forever.
	MaxDuration time.Duration `env:"IMPORT_WATCH_MAX_DURATION, default=2h"`
}

// Watchers serve the watches of jobs.
type Watchers struct {
	imports *Business
	changes Changes
	cfg     WatchConfig
	active  atomic.Int64
}

// NewWatchers returns the watchers over the import register.
func NewWatchers(imports *Business, changes Changes, cfg WatchConfig) *Watchers {
	return &Watchers{imports: imports, changes: changes, cfg: cfg}
}

// Active is how many watches run now.
func (w *Watchers) Active() int64 { return w.active.Load() }

// Watch sends the job as Get returns it, at once and after each change
// users see (again after Keepalive when nothing changed), until it is
// FINISHED (sent last) or ctx ends. The caller must
// be allowed to see the job, as for Get.
func (w *Watchers) Watch(ctx context.Context, id string, send func(Job) error) error {
	job, err := w.imports.Get(ctx, id)
	if err != nil {
		return err
	}
	if w.active.Add(1) > w.cfg.MaxWatchers {
		w.active.Add(-1)
		return &apperr.Error{Code: connect.CodeResourceExhausted,
			Message: fmt.Sprintf("too many imports are watched right now (at most %d); poll GET /api/v1/imports/%s/status or try again shortly", w.cfg.MaxWatchers, id)}
	}
	defer w.active.Add(-1)
	changed, unsubscribe := w.changes.Subscribe(job.ID.String())
	defer unsubscribe()
	if w.cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.MaxDuration)
		defer cancel()
	}
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()

	// Read again once subscribed: a change between the first read and the
	// subscription is not missed.
	if job, err = w.imports.read(ctx, job.ID); err != nil {
		return err
	}
	for {
		if err := send(job); err != nil {
			return err
		}
		if job.State == StateFinished {
			return nil
		}
		sent, last := time.Now(), job
		for sameForWatchers(last, job) && time.Since(sent) < w.cfg.Keepalive {
			select {
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil // the client watches again if it wants to
				}
				return ctx.Err()
			case <-changed:
			case <-poll.C:
			}
			if job, err = w.imports.read(ctx, job.ID); err != nil {
				return err
			}
		}
	}
}

// sameForWatchers: nothing a watcher sees differs.
func sameForWatchers(a, b Job) bool {
	return a.State == b.State && a.Result == b.Result && a.StatusMessage == b.StatusMessage &&
		a.RowsTotal == b.RowsTotal && a.RowsOK == b.RowsOK && a.RowsRejected == b.RowsRejected &&
		a.RowsProcessed == b.RowsProcessed && a.CancelRequested == b.CancelRequested && a.Attempts == b.Attempts
}

// read returns a job with its first rejected rows, as Get does, without
// the authorization Get checked already.
func (b *Business) read(ctx context.Context, id uuid.UUID) (Job, error) {
	job, err := b.store.GetJob(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Job{}, apperr.NotFound("import %s is gone", id)
	}
	if err != nil {
		return Job{}, err
	}
	job.FirstErrors, _, err = b.store.ListRowErrors(ctx, job.ID, 0, 10)
	return job, err
}

// Instrument reports how many watches run, with every collection of
// metrics (ingest_import_watchers): a client that went away holds none.
func (w *Watchers) Instrument() error {
	meter := otel.Meter("co2-calculator/ingest")
	_, err := meter.Int64ObservableGauge("ingest.import.watchers",
		metric.WithDescription("Watches of imports (WatchImport streams) open now"), metric.WithUnit("{watch}"),
		metric.WithInt64Callback(func(_ context.Context, observer metric.Int64Observer) error {
			observer.Observe(w.Active())
			return nil
		}))
	if err != nil {
		return fmt.Errorf("watch metrics: %w", err)
	}
	return nil
}
