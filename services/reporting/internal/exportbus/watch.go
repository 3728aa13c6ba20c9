package exportbus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// ExportChangedChannel is where the triggers of migration 00005 notify the
// id of an export whose status changed (or that was deleted).
const ExportChangedChannel = "reporting_export_changed"

// Changes tells which exports changed (pgnotify.Changes on
// ExportChangedChannel, over PostgreSQL's LISTEN/NOTIFY).
type Changes interface {
	// Subscribe returns a channel signalled after each change of the
	// export whose id is key, and the function that ends the subscription.
	Subscribe(key string) (<-chan struct{}, func())
}

// WatchConfig bounds the watchers of one process.
type WatchConfig struct {
	// MaxWatchers is how many watches one reporting process serves at
	// once; one more is refused (ResourceExhausted) until another ends.
	MaxWatchers int64 `env:"EXPORT_WATCH_MAX, default=1000"`
	// PollInterval is how often a watcher re-reads its export without
	// being told of a change: a safety net for missed notifications.
	PollInterval time.Duration `env:"EXPORT_WATCH_POLL_INTERVAL, default=5s"`
	// Keepalive: an export unchanged this long is sent again, so the
	// stream is never idle as long as BODY_IDLE_TIMEOUT (which would cut it).
	Keepalive time.Duration `env:"EXPORT_WATCH_KEEPALIVE, default=15s"`
	// MaxDuration ends a watch that lasts longer (the client may watch
	// again): no stream is held forever.
	MaxDuration time.Duration `env:"EXPORT_WATCH_MAX_DURATION, default=2h"`
}

// Watchers serve the watches of exports.
type Watchers struct {
	exports *Exports
	changes Changes
	cfg     WatchConfig
	active  atomic.Int64
}

// NewWatchers returns the watchers over the exports.
func NewWatchers(exports *Exports, changes Changes, cfg WatchConfig) *Watchers {
	return &Watchers{exports: exports, changes: changes, cfg: cfg}
}

// Active is how many watches run now.
func (w *Watchers) Active() int64 { return w.active.Load() }

// Finished: an export in this status changes no more but for expiring.
func Finished(status string) bool {
	return status == ExportDone || status == ExportFailed || status == ExportExpired
}

// Watch sends the export as Get returns it, at once and after each change
// users see (again after Keepalive when nothing changed), until it is
// done, failed or expired (sent last) or ctx ends. The caller must be
// allowed to see it, as for Get (the same check: NotFound outside the
// caller's labs).
func (w *Watchers) Watch(ctx context.Context, labID, id string, send func(Export) error) error {
	export, err := w.exports.Get(ctx, labID, id)
	if err != nil {
		return err
	}
	if w.active.Add(1) > w.cfg.MaxWatchers {
		w.active.Add(-1)
		return &apperr.Error{Code: connect.CodeResourceExhausted,
			Message: fmt.Sprintf("too many exports are watched right now (at most %d); poll GET /api/v1/reports/%s/exports/%s or try again shortly", w.cfg.MaxWatchers, labID, id)}
	}
	defer w.active.Add(-1)
	changed, unsubscribe := w.changes.Subscribe(export.ID.String())
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
	if export, err = w.exports.read(ctx, export.LabID, export.ID); err != nil {
		return err
	}
	for {
		if err := send(export); err != nil {
			return err
		}
		if Finished(export.Status) {
			return nil
		}
		sent, last := time.Now(), export
		for sameForWatchers(last, export) && time.Since(sent) < w.cfg.Keepalive {
			select {
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil // the client watches again if it wants to
				}
				return ctx.Err()
			case <-changed:
			case <-poll.C:
			}
			if export, err = w.exports.read(ctx, export.LabID, export.ID); err != nil {
				return err
			}
		}
	}
}

// sameForWatchers: nothing a watcher sees differs.
func sameForWatchers(a, b Export) bool {
	return a.Status == b.Status && a.Error == b.Error && a.Rows == b.Rows && a.SizeBytes == b.SizeBytes &&
		a.Attempts == b.Attempts && (a.FinishedAt == nil) == (b.FinishedAt == nil)
}

// Instrument reports how many watches run, with every collection of
// metrics (reporting_export_watchers): a client that went away holds none.
func (w *Watchers) Instrument() error {
	meter := otel.Meter("co2-calculator/reporting")
	_, err := meter.Int64ObservableGauge("reporting.export.watchers",
		metric.WithDescription("Watches of exports (WatchExport streams) open now"), metric.WithUnit("{watch}"),
		metric.WithInt64Callback(func(_ context.Context, observer metric.Int64Observer) error {
			observer.Observe(w.Active())
			return nil
		}))
	if err != nil {
		return fmt.Errorf("watch metrics: %w", err)
	}
	return nil
}
