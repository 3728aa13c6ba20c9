// Package servertest serves a test's server on a loopback port until the
// test ends.
package servertest

import (
	"context"
	"net"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/platform/server"
)

// Start serves srv on a free loopback port and returns its base URL; the
// server shuts down, and must have served without error, when the test
// ends.
func Start(t testing.TB, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
