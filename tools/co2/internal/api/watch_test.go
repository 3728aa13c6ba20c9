package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The gateway's event stream of an import (GET /imports/{id}/events) is
// served by newer gateways only; these tests hold the client to its
// contract (progress events, keepalive comments, an end event; polling the
// status where the stream is missing). The end-to-end tests in tools/e2e
// run the client against the real system.

func job(state, result string, processed int) string {
	return fmt.Sprintf(`{"id":"j1","state":%q,"result":%q,"rowsProcessed":"%d","rowsTotal":"3"}`, state, result, processed)
}

func TestWatchImportReadsTheEventStream(t *testing.T) {
	var statusCalls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/imports/j1/events":
			if r.Header.Get("Accept") != "text/event-stream" {
				t.Errorf("Accept %q", r.Header.Get("Accept"))
			}
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ": keepalive\n\n")
			fmt.Fprintf(w, "event: progress\ndata: %s\n\n", job("RUNNING", "", 1))
			fmt.Fprint(w, ": keepalive\n\n")
			fmt.Fprintf(w, "event: progress\ndata: %s\n\n", job("RUNNING", "", 2))
			fmt.Fprintf(w, "event: end\ndata: %s\n\n", job("FINISHED", "SUCCESS", 3))
		case "/api/v1/imports/j1/status":
			statusCalls.Add(1)
			fmt.Fprint(w, job("FINISHED", "SUCCESS", 3))
		default:
			http.NotFound(w, r)
		}
	}))
	defer server.Close()
	var seen []int64
	final, err := NewClient(server.URL, nil).WatchImport(context.Background(), "j1", func(i Import) { seen = append(seen, int64(i.RowsProcessed)) })
	if err != nil {
		t.Fatal(err)
	}
	if final.Outcome() != "SUCCESS" || fmt.Sprint(seen) != "[1 2 3]" || statusCalls.Load() != 0 {
		t.Fatalf("final %+v, seen %v, status calls %d", final, seen, statusCalls.Load())
	}
}

func TestWatchImportPollsWhereTheGatewayStreamsNothing(t *testing.T) {
	var statusCalls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/imports/j1/status":
			switch statusCalls.Add(1) {
			case 1:
				fmt.Fprint(w, job("QUEUED", "", 0))
			case 2:
				fmt.Fprint(w, job("RUNNING", "", 2))
			default:
				fmt.Fprint(w, job("FINISHED", "WARNING", 3))
			}
		default:
			// An older gateway: no such route.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":5,"message":"not found"}`)
		}
	}))
	defer server.Close()
	start := time.Now()
	var states []string
	final, err := NewClient(server.URL, nil).WatchImport(context.Background(), "j1", func(i Import) { states = append(states, i.Outcome()) })
	if err != nil {
		t.Fatal(err)
	}
	if final.Outcome() != "WARNING" || fmt.Sprint(states) != "[QUEUED RUNNING WARNING]" {
		t.Fatalf("final %+v, states %v", final, states)
	}
	if elapsed := time.Since(start); elapsed < 2*PollInterval {
		t.Fatalf("three status reads in %v: not every %v", elapsed, PollInterval)
	}
}
