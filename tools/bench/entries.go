package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
	post := func(i int) error {
		request, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(entryBody(i)))
		request.Header.Set("Authorization", "Bearer "+sys.token)
		request.Header.Set("Content-Type", "application/json")
		_, err := timed(client, request, fmt.Sprintf("entry %d", i))
		return err
	}
	run, err := runClosedLoop(post, clients, requests)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "entries          %d from %d concurrent clients through the gateway\n", requests, clients)
	fmt.Fprintf(out, "throughput       %.0f entries/s\n", run.perSecond)
	fmt.Fprintf(out, "latency          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
		ms(run.at(0.50)), ms(run.at(0.90)), ms(run.at(0.99)), ms(run.latencies[len(run.latencies)-1]))
	return nil
}

// entryBody is the i-th equipment entry the benchmarks post.
func entryBody(i int) string {
	return fmt.Sprintf(`{"year":2025,"kind":"equipment","values":{"equipment_name":"Device %d","category":"it","active_hours_per_week":"%d","active_power_w":"%d"}}`, i, 10+i%50, 20+i%500)
}

// labsOf returns the benchmark's lab and n-1 more, made through the
// gateway.
func (sys *benchSystem) labsOf(ctx context.Context, n int) ([]string, error) {
	labIDs := []string{sys.labID}
	for i := 1; i < n; i++ {
		var lab struct {
			ID string `json:"id"`
		}
		if err := api(ctx, http.MethodPost, sys.gateway+"/api/v1/labs", sys.token, "application/json",
			bytes.NewBufferString(fmt.Sprintf(`{"code":"BENCH-%d","name":"Benchmark lab %d","country":"CH"}`, i, i)), &lab); err != nil {
			return nil, err
		}
		labIDs = append(labIDs, lab.ID)
	}
	return labIDs, nil
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
