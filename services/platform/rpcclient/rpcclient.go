// Package rpcclient gives services and the gateway what they need to call
// another service over Connect: an h2c HTTP client and traced client options.
package rpcclient

import (
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
)

// Transport speaks HTTP/2 without TLS (h2c) to other services inside the
// cluster, which keeps streams (uploads, file reads) working end to end.
func Transport() *http.Transport {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Transport{
		Protocols:           &protocols,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}

// HTTPClient is an h2c client for Connect calls.
func HTTPClient() *http.Client {
	return &http.Client{Transport: Transport()}
}

// Options are the options every Connect client takes: tracing, so a request
// is one trace across services.
func Options() ([]connect.ClientOption, error) {
	telemetry, err := otelconnect.NewInterceptor()
	if err != nil {
		return nil, fmt.Errorf("telemetry interceptor: %w", err)
	}
	return []connect.ClientOption{connect.WithInterceptors(telemetry)}, nil
}
