package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// benchEntries posts requests single entries from clients concurrent
// clients through the gateway and reports latency percentiles.
func benchEntries(ctx context.Context, clients, requests int, out io.Writer) error {
	sys, err := startBench(ctx, 0)
	if err != nil {
		return err
	}
	defer sys.stop()
	url := sys.gateway + "/api/v1/labs/" + sys.labID + "/activities"
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: transport}
	post := func(i int) (time.Duration, error) {
		body := fmt.Sprintf(`{"year":2025,"kind":"equipment","values":{"equipment_name":"Device %d","category":"it","active_hours_per_week":"%d","active_power_w":"%d"}}`, i, 10+i%50, 20+i%500)
		request, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
		request.Header.Set("Authorization", "Bearer "+sys.token)
		request.Header.Set("Content-Type", "application/json")
		return timed(client, request, fmt.Sprintf("entry %d", i))
	}
	// Warm up connections and caches.
	for i := range clients {
		if _, err := post(requests + i); err != nil {
			return err
		}
	}
	latencies := make([]time.Duration, requests)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests || failed.Load() != nil {
					return
				}
				took, err := post(i)
				if err != nil {
					failed.Store(err)
					return
				}
				latencies[i] = took
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	percentile := func(p float64) time.Duration { return latencies[int(float64(len(latencies)-1)*p)] }
	fmt.Fprintf(out, "entries          %d from %d concurrent clients through the gateway\n", requests, clients)
	fmt.Fprintf(out, "throughput       %.0f entries/s\n", float64(requests)/elapsed.Seconds())
	fmt.Fprintf(out, "latency          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
		ms(percentile(0.50)), ms(percentile(0.90)), ms(percentile(0.99)), ms(latencies[len(latencies)-1]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timed sends request and returns how long the answer took to arrive in
// full, or an error naming what when it is not 200.
func timed(client *http.Client, request *http.Request, what string) (time.Duration, error) {
	start := time.Now()
	response, err := client.Do(request)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", what, response.Status)
	}
	return time.Since(start), nil
}
