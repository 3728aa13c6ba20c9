package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/server"
)

// serve runs handler under limits on a loopback port until the test ends.
func serve(t *testing.T, limits server.Limits, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.ServeHTTP(ctx, server.Config{ReadHeaderTimeout: time.Second, ShutdownTimeout: time.Second, Limits: limits},
			slog.New(slog.DiscardHandler), ln, handler, nil)
	}()
	t.Cleanup(func() { cancel(); <-done }) //nolint:errcheck // how the server ends after the test is not what it checks
	return "http://" + ln.Addr().String()
}

// bodyRead reports how a handler's read of the whole body ended.
type bodyRead struct {
	bytes int
	err   error
	took  time.Duration
}

func reader(results chan<- bodyRead) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		body, err := io.ReadAll(r.Body)
		results <- bodyRead{bytes: len(body), err: err, took: time.Since(started)}
	})
}

// trickle sends a byte every interval, count times (forever when count < 0).
func trickle(interval time.Duration, count int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		for i := 0; count < 0 || i < count; i++ {
			if _, err := pw.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(interval)
		}
		pw.Close()
	}()
	return pr
}

func clients() map[string]*http.Client {
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	return map[string]*http.Client{
		"HTTP/1.1": {Transport: &http.Transport{}},
		"h2c":      {Transport: &http.Transport{Protocols: &h2c}},
	}
}

func TestABodyThatStopsArrivingIsCutAfterTheIdleTimeout(t *testing.T) {
	for name, client := range clients() {
		t.Run(name, func(t *testing.T) {
			results := make(chan bodyRead, 1)
			url := serve(t, server.Limits{BodyIdleTimeout: 300 * time.Millisecond, BodyTimeout: time.Hour}, reader(results))
			// Three bytes, then a client that goes silent without closing.
			stalled, sender := io.Pipe()
			defer sender.Close()
			go func() { _, _ = sender.Write([]byte("abc")) }()
			go client.Post(url, "text/csv", stalled) //nolint:errcheck // the server cuts it
			select {
			case got := <-results:
				if got.err == nil {
					t.Fatalf("a body silent for 10 s under a 300 ms idle timeout was read to its end (%d bytes)", got.bytes)
				}
				if got.took > 3*time.Second {
					t.Fatalf("the silent body was cut after %s, want about 300 ms", got.took)
				}
			case <-time.After(8 * time.Second):
				t.Fatal("the handler still waits for a body silent for 8 s under a 300 ms idle timeout")
			}
		})
	}
}

func TestASlowBodyThatKeepsArrivingIsRead(t *testing.T) {
	for name, client := range clients() {
		t.Run(name, func(t *testing.T) {
			results := make(chan bodyRead, 1)
			url := serve(t, server.Limits{BodyIdleTimeout: 300 * time.Millisecond, BodyTimeout: time.Hour}, reader(results))
			res, err := client.Post(url, "text/csv", trickle(100*time.Millisecond, 15))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := <-results
			if got.err != nil || got.bytes != 15 {
				t.Fatalf("a body arriving a byte every 100 ms for 1.5 s under a 300 ms idle timeout: %d bytes, %v", got.bytes, got.err)
			}
		})
	}
}

func TestABodyIsCutAtTheWholeBodyTimeout(t *testing.T) {
	for name, client := range clients() {
		t.Run(name, func(t *testing.T) {
			results := make(chan bodyRead, 1)
			url := serve(t, server.Limits{BodyIdleTimeout: 300 * time.Millisecond, BodyTimeout: time.Second}, reader(results))
			go client.Post(url, "text/csv", trickle(50*time.Millisecond, -1)) //nolint:errcheck // the server cuts it
			select {
			case got := <-results:
				if got.err == nil || got.took > 4*time.Second {
					t.Fatalf("an endless trickle under a 1 s body timeout: %d bytes, %v after %s", got.bytes, got.err, got.took)
				}
			case <-time.After(8 * time.Second):
				t.Fatal("an endless trickle still read after 8 s under a 1 s body timeout")
			}
		})
	}
}
