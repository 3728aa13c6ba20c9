package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// benchEntriesOpenLoop offers single entries at a constant rate, spread
// over labs, whatever the answers' pace (wrk2-style): each request has a
// time it is due, and its latency runs from then — a slow answer does not
// hold back the next request, so queueing shows in the figures instead of
// slowing the offered load (no coordinated omission). At most inFlight
// requests wait at once; one due beyond that counts as not sent.
func benchEntriesOpenLoop(ctx context.Context, rate float64, duration time.Duration, labs, inFlight int, out io.Writer) error {
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
	// Warm up connections and caches, one entry per lab.
	for i := range labIDs {
		if err := post(ctx, 1_000_000+i); err != nil {
			return err
		}
	}

	total := int(rate * duration.Seconds())
	latencies := make([]time.Duration, 0, total)
	var mu sync.Mutex
	var failures, notSent int
	var firstFailure error
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			notSent++
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			err := post(ctx, i)
			took := time.Since(due) // from when it was due, not when it went
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures++
				if firstFailure == nil {
					firstFailure = err
				}
				return
			}
			latencies = append(latencies, took)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return fmt.Errorf("no entry succeeded: %w", firstFailure)
	}
	slices.Sort(latencies)
	percentile := func(p float64) time.Duration { return latencies[int(float64(len(latencies)-1)*p)] }
	fmt.Fprintf(out, "offered          %.0f entries/s for %s over %d labs (open loop: latency from each request's due time)\n", rate, duration, len(labIDs))
	fmt.Fprintf(out, "answered         %d of %d in %.1f s: %.0f entries/s; %d failed, %d not sent (%d already waiting)\n",
		len(latencies), total, elapsed.Seconds(), float64(len(latencies))/elapsed.Seconds(), failures, notSent, inFlight)
	fmt.Fprintf(out, "latency          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  p99.9 %.1f ms  max %.1f ms\n",
		ms(percentile(0.50)), ms(percentile(0.90)), ms(percentile(0.99)), ms(percentile(0.999)), ms(latencies[len(latencies)-1]))
	if firstFailure != nil {
		fmt.Fprintf(out, "first failure    %v\n", firstFailure)
	}
	return nil
}
