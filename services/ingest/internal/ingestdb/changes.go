package ingestdb

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// jobChangedChannel is where the trigger of migration 00006 notifies the
// id of a job whose state, counts or progress changed.
const jobChangedChannel = "ingest_job_changed"

// Changes fans the jobs' change notifications out to the watchers of this
// process: one connection LISTENs for all of them, however many watch.
type Changes struct {
	logger *slog.Logger
	config *pgx.ConnConfig

	mu       sync.Mutex
	watchers map[uuid.UUID]map[chan struct{}]struct{}
}

// NewChanges returns the fan-out; Run listens. The listening connection is
// its own, outside the pool: it is held for as long as the process runs.
func NewChanges(logger *slog.Logger, pool *pgxpool.Pool) *Changes {
	return &Changes{logger: logger, config: pool.Config().ConnConfig.Copy(), watchers: map[uuid.UUID]map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a signal after each change of
// job (signals coalesce: one pending at most), and the function that ends
// the subscription.
func (c *Changes) Subscribe(job uuid.UUID) (<-chan struct{}, func()) {
	signal := make(chan struct{}, 1)
	c.mu.Lock()
	if c.watchers[job] == nil {
		c.watchers[job] = map[chan struct{}]struct{}{}
	}
	c.watchers[job][signal] = struct{}{}
	c.mu.Unlock()
	return signal, func() {
		c.mu.Lock()
		delete(c.watchers[job], signal)
		if len(c.watchers[job]) == 0 {
			delete(c.watchers, job)
		}
		c.mu.Unlock()
	}
}

// notify signals the watchers of job, or of every job when all is true
// (after the connection was lost, changes may have been missed).
func (c *Changes) notify(job uuid.UUID, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, signals := range c.watchers {
		if !all && id != job {
			continue
		}
		for signal := range signals {
			select {
			case signal <- struct{}{}:
			default: // one is pending already
			}
		}
	}
}

// Run listens until ctx ends, reconnecting after a failure (the watchers
// re-read their jobs then, and poll meanwhile).
func (c *Changes) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		c.logger.WarnContext(ctx, "listening for import changes failed; reconnecting", "error", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *Changes) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, c.config)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+jobChangedChannel); err != nil {
		return err
	}
	// Listening again: whatever changed while not listening is read now.
	c.notify(uuid.Nil, true)
	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		id, err := uuid.Parse(notification.Payload)
		if err != nil {
			continue
		}
		c.notify(id, false)
	}
}
