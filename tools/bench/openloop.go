package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

// benchEntriesOpenLoop offers single entries at a constant rate, spread
// over labs, whatever the answers' pace (wrk2-style): each request has a
// time it is due, and its latency runs from then — a slow answer does not
// hold back the next request, so queueing shows in the figures instead of
// slowing the offered load (no coordinated omission). At most inFlight
// requests wait at once; one due beyond that counts as not sent. With
// saturation > 0, a second run on the same system offers that rate for 10
// s and reports what was answered: the throughput at saturation.
func benchEntriesOpenLoop(ctx context.Context, rate float64, duration time.Duration, labs, inFlight int, saturation float64, out io.Writer) error {
	sys, err := startBench(ctx, 0)
	if err != nil {
		return err
	}
	defer sys.stop()
	labIDs, err := sys.labsOf(ctx, labs)
	if err != nil {
		return err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	post := func(ctx context.Context, i int) error {
		request, _ := http.NewRequestWithContext(ctx, http.MethodPost, sys.gateway+"/api/v1/labs/"+labIDs[i%len(labIDs)]+"/activities", bytes.NewBufferString(entryBody(i)))
		request.Header.Set("Authorization", "Bearer "+sys.token)
		request.Header.Set("Content-Type", "application/json")
		_, err := timed(client, request, fmt.Sprintf("entry %d", i))
		return err
	}
	// Warm up connections and caches: one entry per lab, then the rate
	// itself for a few seconds (the pools of connections grow to what it
	// needs), not counted.
	for i := range labIDs {
		if err := post(ctx, 1_000_000+i); err != nil {
			return err
		}
	}
	if _, err := offerAtRate(ctx, rate, 3*time.Second, inFlight, 2_000_000, post); err != nil {
		return err
	}
	fmt.Fprintf(out, "machine          %d cores, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	profileService(sys.addrs, "-entries", func(line string) { fmt.Fprintln(os.Stderr, "bench:", line) })
	run, err := offerAtRate(ctx, rate, duration, inFlight, 0, post)
	if err != nil {
		return err
	}
	// The measured run's answers, not the warm-up's or the saturation's.
	if path := os.Getenv("BENCH_LATENCIES"); path != "" {
		if err := run.write(path); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "offered          %.0f entries/s for %s over %d labs (open loop: latency from each request's due time)\n", rate, duration, len(labIDs))
	run.print(out, inFlight)
	fmt.Fprintf(out, "target           p99 %.1f ms against < 20 ms: %s\n", ms(run.percentile(0.99)), verdict(run.percentile(0.99) < 20*time.Millisecond))
	if saturation <= 0 {
		return nil
	}
	const saturationTime = 10 * time.Second
	run, err = offerAtRate(ctx, saturation, saturationTime, inFlight, int(rate*duration.Seconds()), post)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "offered          %.0f entries/s for %s (beyond what the system answers: its saturation)\n", saturation, saturationTime)
	run.print(out, inFlight)
	fmt.Fprintf(out, "target           %.0f entries/s at saturation against >= 3,000: %s\n", run.perSecond(), verdict(run.perSecond() >= 3000))
	return nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

// openRun is what one open-loop run measured.
type openRun struct {
	latencies         []time.Duration // sorted
	series            []sample        // in the order answered
	total             int
	failures, notSent int
	firstFailure      error
	elapsed           time.Duration
}

func (r *openRun) percentile(p float64) time.Duration {
	return r.latencies[int(float64(len(r.latencies)-1)*p)]
}

func (r *openRun) perSecond() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

func (r *openRun) print(out io.Writer, inFlight int) {
	fmt.Fprintf(out, "answered         %d of %d in %.1f s: %.0f entries/s; %d failed, %d not sent (%d already waiting)\n",
		len(r.latencies), r.total, r.elapsed.Seconds(), r.perSecond(), r.failures, r.notSent, inFlight)
	fmt.Fprintf(out, "latency          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  p99.9 %.1f ms  max %.1f ms\n",
		ms(r.percentile(0.50)), ms(r.percentile(0.90)), ms(r.percentile(0.99)), ms(r.percentile(0.999)), ms(r.latencies[len(r.latencies)-1]))
	if r.firstFailure != nil {
		fmt.Fprintf(out, "first failure    %v\n", r.firstFailure)
	}
}

// offerAtRate calls post(first+i) at rate per second for duration, each
// timed from when it was due.
func offerAtRate(ctx context.Context, rate float64, duration time.Duration, inFlight, first int, post func(context.Context, int) error) (*openRun, error) {
	run := &openRun{total: int(rate * duration.Seconds())}
	run.latencies = make([]time.Duration, 0, run.total)
	fmt.Fprintf(os.Stderr, "bench: offering %.0f entries/s for %s from %s\n", rate, duration, time.Now().Format("15:04:05.000"))
	var mu sync.Mutex
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range run.total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			run.notSent++
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			err := post(ctx, first+i)
			took := time.Since(due) // from when it was due, not when it went
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				run.failures++
				if run.firstFailure == nil {
					run.firstFailure = err
				}
				return
			}
			run.latencies = append(run.latencies, took)
			run.series = append(run.series, sample{due.Sub(start), took})
		})
	}
	wg.Wait()
	run.elapsed = time.Since(start)
	if len(run.latencies) == 0 {
		return nil, fmt.Errorf("no entry succeeded: %w", run.firstFailure)
	}
	slices.Sort(run.latencies)
	return run, nil
}

// sample is one answered request: when it was due (from the run's start)
// and how long it took from then.
type sample struct{ due, took time.Duration }

// write saves the run's samples as CSV (due_ms,latency_ms), in due order,
// to see when a slow stretch happened (BENCH_LATENCIES=file).
func (r *openRun) write(path string) error {
	slices.SortFunc(r.series, func(a, b sample) int { return int(a.due - b.due) })
	var out bytes.Buffer
	out.WriteString("due_ms,latency_ms\n")
	for _, s := range r.series {
		fmt.Fprintf(&out, "%.1f,%.1f\n", ms(s.due), ms(s.took))
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
