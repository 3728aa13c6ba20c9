package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchReport fills a lab per size through the import pipeline, one with
// small emissions and others with large (an equipment row writes two
// emissions: location- and market-based), then asks the gateway for each
// lab's report, alternating, and prints the latency percentiles side by
// side against the target (p99 < 25 ms whatever the size).
func benchReport(ctx context.Context, sizes []int, requests int, out io.Writer) error {
	sys, err := startBench(ctx, 2)
	if err != nil {
		return err
	}
	defer sys.stop()
	log := func(line string) { fmt.Fprintln(os.Stderr, "bench:", line) }
	type lab struct {
		id        string
		emissions int
	}
	labs := []lab{{sys.labID, sizes[0]}}
	for i, size := range sizes[1:] {
		var another struct {
			ID string `json:"id"`
		}
		if err := api(ctx, http.MethodPost, sys.gateway+"/api/v1/labs", sys.token, "application/json",
			bytes.NewBufferString(fmt.Sprintf(`{"code":"BENCH-LARGE-%d","name":"Large benchmark lab %d","country":"CH"}`, i+1, i+1)), &another); err != nil {
			return err
		}
		labs = append(labs, lab{another.ID, size})
	}
	for _, lab := range labs {
		rows := lab.emissions / 2
		log(fmt.Sprintf("importing %d equipment rows (%d emissions)", rows, lab.emissions))
		if err := importRows(ctx, sys, lab.id, rows); err != nil {
			return err
		}
	}
	conn, err := pgx.Connect(ctx, sys.dbURL)
	if err != nil {
		return err
	}
	counts := make([]int64, len(labs))
	for i, lab := range labs {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1", lab.id).Scan(&counts[i]); err != nil {
			conn.Close(ctx)
			return err
		}
	}
	conn.Close(ctx)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	get := func(labID string) (time.Duration, error) {
		request, _ := http.NewRequestWithContext(ctx, http.MethodGet, sys.gateway+"/api/v1/reports/"+labID+"?year=2025", nil)
		request.Header.Set("Authorization", "Bearer "+sys.token)
		return timed(client, request, "report of "+labID)
	}
	log(fmt.Sprintf("%d reports per lab, alternating", requests))
	latencies := make([][]time.Duration, len(labs))
	for i := range requests + 20 {
		for j, lab := range labs {
			took, err := get(lab.id)
			if err != nil {
				return err
			}
			if i >= 20 { // the first are warm-up (connections, caches)
				latencies[j] = append(latencies[j], took)
			}
		}
	}
	fmt.Fprintf(out, "machine          %d cores, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(out, "reports          %d per lab, one client, through the gateway (GET /api/v1/reports/{lab}?year=2025)\n", requests)
	var worst time.Duration
	p99s := make([]time.Duration, len(labs))
	for j := range labs {
		l := latencies[j]
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		percentile := func(p float64) time.Duration { return l[int(float64(len(l)-1)*p)] }
		p99s[j] = percentile(0.99)
		worst = max(worst, p99s[j])
		fmt.Fprintf(out, "%9d emissions  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
			counts[j], ms(percentile(0.50)), ms(percentile(0.90)), ms(p99s[j]), ms(l[len(l)-1]))
	}
	fmt.Fprintf(out, "target           p99 < 25 ms at every size: %s (worst %.2f ms; largest lab's p99 %.2f × the smallest's)\n",
		verdict(worst < 25*time.Millisecond), ms(worst), p99s[len(p99s)-1].Seconds()/p99s[0].Seconds())
	return nil
}

// importRows uploads rows generated equipment rows to lab for 2025 and
// waits for the import to finish.
func importRows(ctx context.Context, sys *benchSystem, labID string, rows int) error {
	path := filepath.Join(sys.work, "equipment-"+labID+".csv")
	if _, err := writeEquipmentCSV(path, rows); err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	var uploaded struct {
		Import struct {
			ID string `json:"id"`
		} `json:"import"`
	}
	if err := api(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/labs/%s/imports?kind=equipment&year=2025&mode=replace", sys.gateway, labID),
		sys.token, "text/csv", file, &uploaded); err != nil {
		return err
	}
	for {
		var status struct{ State, Result, StatusMessage string }
		if err := api(ctx, http.MethodGet, sys.gateway+"/api/v1/imports/"+uploaded.Import.ID+"/status", sys.token, "", nil, &status); err != nil {
			return err
		}
		if status.State == "FINISHED" {
			if status.Result != "SUCCESS" {
				return fmt.Errorf("import ended %s: %s", status.Result, status.StatusMessage)
			}
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}
