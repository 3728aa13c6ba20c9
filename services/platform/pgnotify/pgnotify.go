// Package pgnotify fans PostgreSQL notifications out to the watchers of one
// process: one connection LISTENs on a channel, however many watch (ADR 021).
package pgnotify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Changes fans the notifications of one channel out by payload (a row's id,
// as the notifying trigger sends it).
type Changes struct {
	logger  *slog.Logger
	config  *pgx.ConnConfig
	channel string

	mu       sync.Mutex
	watchers map[string]map[chan struct{}]struct{}
}

// New returns the fan-out of channel; Run listens. The listening connection
// is its own, outside the pool: it is held for as long as the process runs.
func New(logger *slog.Logger, pool *pgxpool.Pool, channel string) *Changes {
	return &Changes{logger: logger, config: pool.Config().ConnConfig.Copy(), channel: channel,
		watchers: map[string]map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a signal after each
// notification carrying key (signals coalesce: one pending at most), and
// the function that ends the subscription.
func (c *Changes) Subscribe(key string) (<-chan struct{}, func()) {
	signal := make(chan struct{}, 1)
	c.mu.Lock()
	if c.watchers[key] == nil {
		c.watchers[key] = map[chan struct{}]struct{}{}
	}
	c.watchers[key][signal] = struct{}{}
	c.mu.Unlock()
	return signal, func() {
		c.mu.Lock()
		delete(c.watchers[key], signal)
		if len(c.watchers[key]) == 0 {
			delete(c.watchers, key)
		}
		c.mu.Unlock()
	}
}

// notify signals the watchers of key, or of every key when all is true
// (after the connection was lost, notifications may have been missed).
// It never blocks: a watcher with a signal pending skips this one.
func (c *Changes) notify(key string, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, signals := range c.watchers {
		if !all && id != key {
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
// re-read then, and poll meanwhile).
func (c *Changes) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		c.logger.WarnContext(ctx, "listening for changes failed; reconnecting", "channel", c.channel, "error", err, "in", backoff.String())
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{c.channel}.Sanitize()); err != nil {
		return err
	}
	// Listening again: whatever changed while not listening is read now.
	c.notify("", true)
	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		c.notify(notification.Payload, false)
	}
}
