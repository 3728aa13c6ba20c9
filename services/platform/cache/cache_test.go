package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

func TestTheCacheKeepsAtMostItsSize(t *testing.T) {
	c := cache.New[int, int](10, time.Minute)
	for i := range 1000 {
		if _, err := c.Get(context.Background(), i, func(context.Context) (int, error) { return i * 2, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 10 {
		t.Fatalf("%d entries kept after 1000 keys, want 10", c.Len())
	}
	if value, ok := c.Peek(999); !ok || value != 1998 {
		t.Fatalf("the newest key: %v %v", value, ok)
	}
}

func TestEntriesExpireAfterTheirTTL(t *testing.T) {
	c := cache.New[string, int](10, 100*time.Millisecond)
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }
	first, _ := c.Get(context.Background(), "k", load)
	again, _ := c.Get(context.Background(), "k", load)
	time.Sleep(200 * time.Millisecond)
	later, _ := c.Get(context.Background(), "k", load)
	if first != 1 || again != 1 || later != 2 {
		t.Fatalf("values %d %d %d, want 1 1 2 (kept, then loaded again once expired)", first, again, later)
	}
}

func TestCallersMissingTheSameKeyShareOneLoad(t *testing.T) {
	c := cache.New[string, int](10, time.Minute)
	var loads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) {
				loads.Add(1)
				<-release
				return 7, nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("20 callers at once loaded %d times, want 1", loads.Load())
	}
}

func TestErrorsAreNotKept(t *testing.T) {
	c := cache.New[string, int](10, time.Minute)
	if _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 0, errors.New("down") }); err == nil {
		t.Fatal("the load's error was lost")
	}
	value, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
	if err != nil || value != 3 {
		t.Fatalf("after a failed load: %v %v, want 3 loaded again", value, err)
	}
}

func TestAWaitingCallerStopsWithItsContext(t *testing.T) {
	c := cache.New[string, int](10, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	_, err := c.Get(ctx, "k", func(context.Context) (int, error) { <-release; return 1, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a caller whose context ended: %v", err)
	}
}

// A load on the caller's own connection: the caller does not go on while
// its load still runs, whatever its context does.
func TestGetOwnWaitsForItsLoadWhenItsContextEnds(t *testing.T) {
	c := cache.New[string, int](10, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	var loading atomic.Bool
	_, err := c.GetOwn(ctx, "k", func(context.Context) (int, error) {
		loading.Store(true)
		cancel()
		time.Sleep(50 * time.Millisecond) // the query still on the wire
		loading.Store(false)
		return 0, context.Canceled
	})
	if loading.Load() {
		t.Fatal("GetOwn returned while its load was still running")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

// A caller that shared another's load, which that caller's cancellation
// ended, loads again rather than fail for someone else.
func TestGetOwnDoesNotPassOnAnotherCallersCancellation(t *testing.T) {
	c := cache.New[string, int](10, time.Minute)
	first, cancelFirst := context.WithCancel(context.Background())
	started := make(chan struct{})
	var firstErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		_, firstErr = c.GetOwn(first, "k", func(ctx context.Context) (int, error) {
			close(started)
			time.Sleep(50 * time.Millisecond) // the second caller joins meanwhile
			cancelFirst()
			return 0, ctx.Err()
		})
	})
	<-started
	value, err := c.GetOwn(context.Background(), "k", func(context.Context) (int, error) { return 7, nil })
	wg.Wait()
	if err != nil || value != 7 {
		t.Fatalf("the second caller got %v, %v: another caller's cancellation", value, err)
	}
	if !errors.Is(firstErr, context.Canceled) {
		t.Fatalf("the first caller: %v", firstErr)
	}
}
