package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// benchGateway asks the same thing of the gateway (REST) and of the
// service directly (Connect), from connections concurrent callers each on
// its own HTTP/1.1 connection, alternating the two for rounds rounds: the
// list of labs (labs' ListLabs) and a single entry (calc's
// CreateActivity), spread over 20 labs. It prints each side's throughput
// and latency and the gateway's ratios to the direct call.
func benchGateway(ctx context.Context, connections, requests, rounds int, out io.Writer) error {
	// The gateway checks every caller's budget in Redis as deployed, with
	// budgets no caller here reaches.
	sys, err := startBench(ctx, 0, "RATE_LIMIT_READ=100000000/1m", "RATE_LIMIT_WRITE=100000000/1m")
	if err != nil {
		return err
	}
	defer sys.stop()
	labIDs, err := sys.labsOf(ctx, 20)
	if err != nil {
		return err
	}
	// Every caller keeps its own connection, the same way on both sides.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections, MaxConnsPerHost: connections}, Timeout: 30 * time.Second}
	asUser := connect.WithInterceptors(authn.ClientInterceptor(authn.Static(sys.token)))
	labs := labsv1connect.NewLabsServiceClient(client, "http://"+sys.addrs["labs"], asUser)
	activities := calcv1connect.NewActivityServiceClient(client, "http://"+sys.addrs["calc"], asUser)
	values := func(i int) map[string]string {
		return map[string]string{"equipment_name": fmt.Sprintf("Device %d", i), "category": "it",
			"active_hours_per_week": fmt.Sprint(10 + i%50), "active_power_w": fmt.Sprint(20 + i%500)}
	}
	rest := func(method, url, body string) error {
		var reader io.Reader
		if body != "" {
			reader = bytes.NewBufferString(body)
		}
		request, _ := http.NewRequestWithContext(ctx, method, url, reader)
		request.Header.Set("Authorization", "Bearer "+sys.token)
		if body != "" {
			request.Header.Set("Content-Type", "application/json")
		}
		_, err := timed(client, request, method+" "+url)
		return err
	}
	type pair struct{ name, gatewayName, directName string }
	calls := map[string]func(i int) error{
		"gateway labs": func(int) error { return rest(http.MethodGet, sys.gateway+"/api/v1/labs", "") },
		"direct labs": func(int) error {
			_, err := labs.ListLabs(ctx, connect.NewRequest(&labsv1.ListLabsRequest{}))
			return err
		},
		"gateway entry": func(i int) error {
			return rest(http.MethodPost, sys.gateway+"/api/v1/labs/"+labIDs[i%len(labIDs)]+"/activities", entryBody(i))
		},
		"direct entry": func(i int) error {
			_, err := activities.CreateActivity(ctx, connect.NewRequest(&calcv1.CreateActivityRequest{LabId: labIDs[i%len(labIDs)], Year: 2025, Kind: "equipment", Values: values(i)}))
			return err
		},
	}
	pairs := []pair{{"GET /api/v1/labs (ListLabs)", "gateway labs", "direct labs"}, {"an entry (CreateActivity)", "gateway entry", "direct entry"}}
	results := map[string][]closedLoop{}
	for round := range rounds {
		for _, p := range pairs {
			order := []string{p.gatewayName, p.directName}
			if round%2 == 1 {
				order = []string{p.directName, p.gatewayName}
			}
			for _, name := range order {
				if round == 0 && name == pairs[0].gatewayName {
					// BENCH_PROFILE=gateway: a CPU profile of the gateway's first run.
					profileService(sys.addrs, "", func(line string) { fmt.Fprintln(os.Stderr, "bench:", line) })
				}
				result, err := runClosedLoop(calls[name], connections, requests)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				results[name] = append(results[name], result)
			}
		}
	}
	fmt.Fprintf(out, "gateway overhead  %d callers, each on its own connection, %d requests a run, %d rounds alternating\n", connections, requests, rounds)
	for _, p := range pairs {
		fmt.Fprintf(out, "\n%s\n", p.name)
		for round := range rounds {
			g, d := results[p.gatewayName][round], results[p.directName][round]
			fmt.Fprintf(out, "  round %d  gateway %6.0f/s p50 %6.1f ms p99 %6.1f ms | direct %6.0f/s p50 %6.1f ms p99 %6.1f ms | latency × %.2f (p50) × %.2f (p99), throughput × %.2f\n",
				round+1, g.perSecond, ms(g.at(0.50)), ms(g.at(0.99)), d.perSecond, ms(d.at(0.50)), ms(d.at(0.99)),
				float64(g.at(0.50))/float64(d.at(0.50)), float64(g.at(0.99))/float64(d.at(0.99)), g.perSecond/d.perSecond)
		}
	}
	fmt.Fprintln(out, "\ntargets: latency × ≤ 1.3, throughput × ≥ 0.75")
	return nil
}

// closedLoop is one run's figures.
type closedLoop struct {
	perSecond float64
	// latencies, sorted.
	latencies []time.Duration
}

// at is the latency at fraction p of the answers (0.99: the p99).
func (c closedLoop) at(p float64) time.Duration {
	return c.latencies[int(float64(len(c.latencies)-1)*p)]
}

// runClosedLoop makes requests calls from callers concurrent callers, each
// starting its next call when its last one answered, after one warm-up
// call each.
func runClosedLoop(call func(i int) error, callers, requests int) (closedLoop, error) {
	for i := range callers {
		if err := call(requests + i); err != nil {
			return closedLoop{}, err
		}
	}
	latencies := make([]time.Duration, requests)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests || failed.Load() != nil {
					return
				}
				began := time.Now()
				if err := call(i); err != nil {
					failed.Store(err)
					return
				}
				latencies[i] = time.Since(began)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		return closedLoop{}, err
	}
	slices.Sort(latencies)
	return closedLoop{perSecond: float64(requests) / elapsed.Seconds(), latencies: latencies}, nil
}
