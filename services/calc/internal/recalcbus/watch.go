package recalcbus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// RecalcChangedChannel is where the triggers of migration 00008 notify the
// lab id of an ask or a recorded recalculation.
const RecalcChangedChannel = "calc_recalc_changed"

// Pending is a target asked to be recalculated and not yet done.
type Pending struct {
	Target
	RequestedAt time.Time
}

// WatchStore reads what a watcher sends.
type WatchStore interface {
	// WatchedRecalculations returns the lab's year's pending asks and the
	// recalculations started at or after since (at most 100, newest first).
	WatchedRecalculations(ctx context.Context, labID uuid.UUID, year int32, since time.Time) ([]Pending, []Recalculation, error)
}

// Changes tells which labs' recalculations changed (pgnotify.Changes on
// RecalcChangedChannel).
type Changes interface {
	Subscribe(key string) (<-chan struct{}, func())
}

// WatchConfig bounds the watchers of one process.
type WatchConfig struct {
	// MaxWatchers is how many watches one calc process serves at once;
	// one more is refused (ResourceExhausted) until another ends.
	MaxWatchers int64 `env:"RECALC_WATCH_MAX, default=1000"`
	// PollInterval is how often a watcher re-reads without being told of
	// a change: a safety net for missed notifications.
	PollInterval time.Duration `env:"RECALC_WATCH_POLL_INTERVAL, default=5s"`
	// Keepalive: an unchanged state is sent again this often, so the
	// stream is never idle as long as BODY_IDLE_TIMEOUT.
	Keepalive time.Duration `env:"RECALC_WATCH_KEEPALIVE, default=15s"`
	// MaxDuration ends a watch that lasts longer.
	MaxDuration time.Duration `env:"RECALC_WATCH_MAX_DURATION, default=2h"`
}

// Watched is what a watcher sends: what is pending, and what was done.
type Watched struct {
	Pending        []Pending
	Recalculations []Recalculation
}

// Watchers serve the watches of labs' recalculations.
type Watchers struct {
	store   WatchStore
	authz   *authz.Authorizer
	changes Changes
	cfg     WatchConfig
	active  atomic.Int64
}

// NewWatchers returns the watchers.
func NewWatchers(store WatchStore, authorizer *authz.Authorizer, changes Changes, cfg WatchConfig) *Watchers {
	return &Watchers{store: store, authz: authorizer, changes: changes, cfg: cfg}
}

// Active is how many watches run now.
func (w *Watchers) Active() int64 { return w.active.Load() }

// Watch sends the lab's year's pending recalculations and those started
// since (the watch's start when zero), at once and after each change
// (again after Keepalive), until none is pending (sent last) or ctx ends.
// Authorised as History.Recalculations.
func (w *Watchers) Watch(ctx context.Context, labID string, year int32, since time.Time, send func(Watched) error) error {
	lab, _, err := w.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return err
	}
	if year < 1 {
		return apperr.Invalid("year", "a year is required, e.g. ?year=2025")
	}
	if since.IsZero() {
		since = time.Now()
	}
	if w.active.Add(1) > w.cfg.MaxWatchers {
		w.active.Add(-1)
		return &apperr.Error{Code: connect.CodeResourceExhausted,
			Message: fmt.Sprintf("too many recalculations are watched right now (at most %d); poll GET /api/v1/labs/%s/recalculations or try again shortly", w.cfg.MaxWatchers, labID)}
	}
	defer w.active.Add(-1)
	changed, unsubscribe := w.changes.Subscribe(lab.String())
	defer unsubscribe()
	if w.cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.MaxDuration)
		defer cancel()
	}
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	read := func() (Watched, error) {
		pending, done, err := w.store.WatchedRecalculations(ctx, lab, year, since)
		return Watched{Pending: pending, Recalculations: done}, err
	}
	watched, err := read()
	if err != nil {
		return err
	}
	for {
		if err := send(watched); err != nil {
			return err
		}
		if len(watched.Pending) == 0 {
			return nil
		}
		sent, last := time.Now(), watched
		for reflect.DeepEqual(last, watched) && time.Since(sent) < w.cfg.Keepalive {
			select {
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil
				}
				return ctx.Err()
			case <-changed:
			case <-poll.C:
			}
			if watched, err = read(); err != nil {
				return err
			}
		}
	}
}

// Instrument reports how many watches run (calc_recalc_watchers).
func (w *Watchers) Instrument() error {
	meter := otel.Meter("co2-calculator/calc")
	_, err := meter.Int64ObservableGauge("calc.recalc.watchers",
		metric.WithDescription("Watches of recalculations (WatchRecalculations streams) open now"), metric.WithUnit("{watch}"),
		metric.WithInt64Callback(func(_ context.Context, observer metric.Int64Observer) error {
			observer.Observe(w.Active())
			return nil
		}))
	if err != nil {
		return fmt.Errorf("watch metrics: %w", err)
	}
	return nil
}
