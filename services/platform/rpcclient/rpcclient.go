// Package rpcclient gives services and the gateway what they need to call
// another service over Connect: an h2c HTTP client and client options that
// trace, bound the size of answers and put a deadline on every call.
package rpcclient

import (
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"

	"github.com/co2-calculator/co2-calculator/services/platform/server"
)

// Config is how a process calls other services.
type Config struct {
	// Timeout is the deadline of a unary call made without one (a worker's
	// call, a cache miss): a service that stopped answering fails the
	// call instead of holding it.
	Timeout time.Duration `env:"RPC_TIMEOUT, default=30s"`
}

// Caller is what a process uses to call other services.
type Caller struct {
	HTTP    *http.Client
	Options []connect.ClientOption
}

// New returns the HTTP client and options of a process's calls.
func New(cfg Config, limits server.Limits) (Caller, error) {
	telemetry, err := otelconnect.NewInterceptor()
	if err != nil {
		return Caller{}, fmt.Errorf("telemetry interceptor: %w", err)
	}
	return Caller{
		HTTP: &http.Client{Transport: transport(limits)},
		Options: []connect.ClientOption{
			connect.WithInterceptors(telemetry, server.DefaultDeadline(cfg.Timeout)),
			connect.WithReadMaxBytes(int(limits.MaxMessageBytes)),
		},
	}, nil
}

// Transport speaks HTTP/2 without TLS (h2c) to other services inside the
// cluster, which keeps streams (uploads, file reads) working end to end;
// pings find a peer that vanished without closing the connection. A
// request no server received is sent again (replaying): a rolling update
// fails no call.
func Transport(limits server.Limits) http.RoundTripper { return transport(limits) }

func transport(limits server.Limits) http.RoundTripper {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	maxBody := limits.MaxMessageBytes
	if maxBody <= 0 {
		maxBody = 4 << 20
	}
	return replaying{
		next: &http.Transport{
			Protocols:           &protocols,
			HTTP2:               limits.HTTP2(),
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
		maxBody: maxBody,
	}
}

// HTTPClient is an h2c client with the default limits, for tests and tools.
func HTTPClient() *http.Client {
	return &http.Client{Transport: transport(server.Limits{PingTimeout: 30 * time.Second})}
}
