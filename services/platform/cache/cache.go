// Package cache is the one cache of the system: at most a fixed number of
// entries, each kept for a time to live, filled by a loader that runs once
// per key however many callers miss it at the same time.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// Cache maps keys to values loaded on demand. Errors are not kept: the
// next caller loads again.
type Cache[K comparable, V any] struct {
	entries *expirable.LRU[K, V] // nil: nothing is kept
	loads   singleflight.Group
}

// New returns a cache of at most size entries kept for ttl; a size or ttl
// of 0 keeps nothing (every Get loads).
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	c := &Cache[K, V]{}
	if size > 0 && ttl > 0 {
		c.entries = expirable.NewLRU[K, V](size, nil, ttl)
	}
	return c
}

// Get returns key's value, calling load when it is not kept. Callers
// missing the same key at once share one load; the load runs on a context
// that the first caller's cancellation does not end (its values, such as
// the caller's token, stay), and each caller stops waiting when its own
// context ends.
func (c *Cache[K, V]) Get(ctx context.Context, key K, load func(context.Context) (V, error)) (V, error) {
	if value, ok := c.Peek(key); ok {
		return value, nil
	}
	result := c.loads.DoChan(fmt.Sprint(key), func() (any, error) {
		value, err := load(context.WithoutCancel(ctx))
		if err == nil {
			c.Add(key, value)
		}
		return value, err
	})
	select {
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	case done := <-result:
		if done.Err != nil {
			var zero V
			return zero, done.Err
		}
		return done.Val.(V), nil
	}
}

// GetOwn is Get for a load that uses what only its caller may touch (the
// caller's transaction and its connection): the load runs in the calling
// goroutine on the caller's context, and the caller waits for it to end
// even when that context ends, so nothing uses the connection once the
// caller goes on. Callers missing the same key at once still share one
// load; one that got another caller's cancellation loads again.
func (c *Cache[K, V]) GetOwn(ctx context.Context, key K, load func(context.Context) (V, error)) (V, error) {
	for attempt := 0; ; attempt++ {
		if value, ok := c.Peek(key); ok {
			return value, nil
		}
		value, err, shared := c.loads.Do(fmt.Sprint(key), func() (any, error) {
			value, err := load(ctx)
			if err == nil {
				c.Add(key, value)
			}
			return value, err
		})
		if err == nil {
			return value.(V), nil
		}
		othersCancellation := shared && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		if !othersCancellation || attempt == 2 {
			var zero V
			return zero, err
		}
	}
}

// Peek returns key's value if it is kept.
func (c *Cache[K, V]) Peek(key K) (V, bool) {
	if c.entries == nil {
		var zero V
		return zero, false
	}
	return c.entries.Get(key)
}

// Add keeps value for key.
func (c *Cache[K, V]) Add(key K, value V) {
	if c.entries != nil {
		c.entries.Add(key, value)
	}
}

// Remove forgets key.
func (c *Cache[K, V]) Remove(key K) {
	if c.entries != nil {
		c.entries.Remove(key)
	}
}

// Len is how many entries are kept.
func (c *Cache[K, V]) Len() int {
	if c.entries == nil {
		return 0
	}
	return c.entries.Len()
}
