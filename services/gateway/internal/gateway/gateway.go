// Package gateway is the REST edge of the system: /api/v1 is transcoded to
// Connect by vanguard from the google.api.http annotations and proxied to the
// owning service; the gateway also serves health, readiness, the API
// reference and CORS.
package gateway

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/vanguard"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/apidocs"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/ratelimit"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
)

// Upstream is one service behind the gateway.
type Upstream struct {
	// Name is how /ready reports it, for example "labs".
	Name string
	// URL is its base URL, for example http://labs:8001.
	URL *url.URL
	// Services are the Connect services it serves (full proto names).
	Services []string
}

// Options tune the gateway.
type Options struct {
	CORSOrigins  []string
	ReadyTimeout time.Duration
	// Verifier checks the bearer token of every /api/v1 request.
	Verifier *authn.Verifier
	// Redis holds the rate-limit counters; nil turns rate limits off.
	Redis           *redis.Client
	RateLimits      ratelimit.Limits
	RateLimitPrefix string
	// MaxBodyBytes bounds a JSON request body (413 beyond).
	MaxBodyBytes int64
	// MaxUploadBytes bounds an uploaded file (413 beyond).
	MaxUploadBytes int64
	// TrustedProxies are the addresses of proxies in front of the gateway
	// whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Limits bound what the transcoder buffers and what upstream calls
	// read.
	Limits server.Limits
	// Caller calls the services.
	Caller rpcclient.Caller
	// IssuerURL is the OIDC issuer the API reference offers to log in with.
	IssuerURL string
	// Events bound the Server-Sent Events streams.
	Events EventLimits
}

// New returns the gateway's handler.
func New(logger *slog.Logger, upstreams []Upstream, options Options) (http.Handler, error) {
	transport := otelhttp.NewTransport(rpcclient.Transport(options.Limits))
	var services []*vanguard.Service
	var serviceNames []string
	for _, upstream := range upstreams {
		proxy := newProxy(logger, upstream, transport)
		serviceNames = append(serviceNames, upstream.Services...)
		for _, name := range upstream.Services {
			services = append(services, vanguard.NewService(name, proxy,
				vanguard.WithTargetProtocols(vanguard.ProtocolConnect),
				vanguard.WithTargetCodecs(vanguard.CodecProto),
				// The services are next door: gzip between them and the
				// gateway would cost both sides CPU to save bytes on a
				// local network (the client's own Accept-Encoding still
				// holds for its answer).
				vanguard.WithNoTargetCompression(),
				// Requests reach the transcoder already bounded and inflated
				// (reqbody.Decode); this bounds any one message it holds, the
				// services' answers included.
				vanguard.WithMaxMessageBufferBytes(uint32(min(options.Limits.MaxMessageBytes, math.MaxUint32))),
			))
		}
	}
	transcoder, err := vanguard.NewTranscoder(services, vanguard.WithCompression(vanguard.CompressionGzip, fastGzip, func() connect.Decompressor { return &gzip.Reader{} }))
	if err != nil {
		return nil, fmt.Errorf("REST transcoder: %w", err)
	}

	if options.Verifier == nil {
		return nil, errors.New("the gateway needs a token verifier")
	}
	guard := &edge{
		verifier:       options.Verifier,
		limiter:        ratelimit.New(options.Redis, options.RateLimits, options.RateLimitPrefix, logger),
		maxBodyBytes:   options.MaxBodyBytes,
		trustedProxies: options.TrustedProxies,
		verifications:  newVerificationCounter(),
	}
	mux := http.NewServeMux()
	transcoded := resterr.ClientErrors(options.MaxBodyBytes, transcoder)
	mux.Handle("/api/v1/", apiHeaders(guard.wrap(transcoded)))
	uploads := *guard
	uploads.maxBodyBytes = options.MaxUploadBytes
	upload := &uploader{maxBytes: options.MaxUploadBytes, logger: logger}
	for _, upstream := range upstreams {
		if upstream.Name == "calc" {
			upload.years = calcv1connect.NewReportingYearServiceClient(options.Caller.HTTP, upstream.URL.String(), callerOptions(options.Caller.Options)...)
		}
	}
	streams := newEventStreams(options.Events)
	for _, upstream := range upstreams {
		clientOptions := callerOptions(options.Caller.Options)
		switch upstream.Name {
		case "ingest":
			ingest := ingestv1connect.NewImportServiceClient(options.Caller.HTTP, upstream.URL.String(), clientOptions...)
			mux.Handle("POST /api/v1/labs/{id}/imports", apiHeaders(uploads.wrap(upload.imports(ingest))))
			mux.Handle("GET /api/v1/imports/{id}/events", apiHeaders(guard.wrap(streams.importEvents(ingest))))
		case "reporting":
			download := newDownloader(options.Caller.HTTP, upstream.URL.String(), transcoded, options.Caller.Options...)
			mux.Handle("GET /api/v1/reports/{lab_id}/exports/{export}", apiHeaders(guard.wrap(download)))
			reporting := reportingv1connect.NewReportServiceClient(options.Caller.HTTP, upstream.URL.String(), clientOptions...)
			mux.Handle("GET /api/v1/reports/{lab_id}/exports/{id}/events", apiHeaders(guard.wrap(streams.exportEvents(reporting))))
		case "calc":
			calc := calcv1connect.NewFactorServiceClient(options.Caller.HTTP, upstream.URL.String(), clientOptions...)
			mux.Handle("POST /api/v1/factor-datasets", apiHeaders(uploads.wrap(upload.factors(calc))))
			mux.Handle("GET /api/v1/labs/{lab_id}/recalculations/events", apiHeaders(guard.wrap(streams.recalculationEvents(calc))))
			templates := &templateFiles{calc: calcv1connect.NewTemplateServiceClient(options.Caller.HTTP, upstream.URL.String(), clientOptions...), other: transcoded}
			mux.Handle("GET /api/v1/templates/{kind}", apiHeaders(guard.wrap(templates)))
		}
	}
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		resterr.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /ready", readiness(options.Caller.HTTP, upstreams, options.ReadyTimeout))
	if err := apidocs.Register(mux, options.IssuerURL); err != nil {
		return nil, err
	}

	routes, err := newRoutes(mux, "/api/v1/", serviceNames)
	if err != nil {
		return nil, err
	}
	handler := securityHeaders(resterr.Shape(mux))
	handler = corsHandler(options.CORSOrigins).Handler(handler)
	handler = accessLog(logger, routeOf, handler)
	// Spans are named by route template, never by raw path. The gateway
	// is the public edge: every request starts a trace of its own, and a
	// caller's traceparent is linked, never a parent (a client cannot pick
	// the trace its requests join, nor make them sampled).
	handler = otelhttp.NewHandler(handler, "gateway", otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return routeOf(r)
		}))
	// The route is named once, from the request as it came: otelhttp names
	// the span again once served, from the request the transcoder has
	// rewritten to a Connect path by then.
	traced := handler
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traced.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, routes.name(r))))
	})
	return handler, nil
}

// fastGzip compresses answers for clients that accept gzip at the fastest
// level: JSON answers shrink nearly as much as at the default level, for a
// fraction of the gateway's CPU.
func fastGzip() connect.Compressor {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level: never an error
	return w
}

// routeKey holds a request's route in its context.
type routeKey struct{}

// routeOf is the route named when the request came in.
func routeOf(r *http.Request) string {
	if name, ok := r.Context().Value(routeKey{}).(string); ok {
		return name
	}
	return unmatchedRoute
}

// newProxy forwards transcoded Connect requests to upstream over h2c. When
// the upstream cannot be reached the client gets 503 (Unavailable), not 502.
func newProxy(logger *slog.Logger, upstream Upstream, transport http.RoundTripper) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream.URL)
			r.SetXForwarded()
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.WarnContext(r.Context(), "upstream unreachable", "upstream", upstream.Name, "error", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			// This answer goes back through the transcoder, which expects
			// the Connect protocol's error body (code as a name) and turns
			// it into the REST one (numeric code, HTTP 503).
			_ = json.NewEncoder(w).Encode(map[string]string{
				"code":    "unavailable",
				"message": fmt.Sprintf("the %s service is unavailable; try again shortly", upstream.Name),
			})
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resterr.MarkProxied(r)
		// The proxy aborts (panics with http.ErrAbortHandler) when a copy
		// fails, for instance when the transcoder stops a body it could not
		// decode; returning instead lets the transcoder send its error.
		defer func() {
			if recovered := recover(); recovered != nil && recovered != http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as the proxy panics with it
				panic(recovered)
			}
		}()
		proxy.ServeHTTP(w, r)
	})
}

// apiHeaders marks API responses as never cached, ignores the content type
// of a request without a body, and reads a request body sent without a JSON
// content type as JSON: the API takes no form posts, and `curl -d '{...}'`
// labels its body application/x-www-form-urlencoded.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch contentType := r.Header.Get("Content-Type"); {
		case r.Body == nil || r.Body == http.NoBody:
			// A type for a body that is not there says nothing: some
			// clients send one with every request.
			r.Header.Del("Content-Type")
		case contentType == "", strings.HasPrefix(contentType, "application/x-www-form-urlencoded"):
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are set on every answer: no MIME sniffing, no framing, no
// referrer leaks.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("X-Frame-Options", "DENY")
		header.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// readiness answers 200 when every upstream's grpchealth says SERVING.
func readiness(httpClient *http.Client, upstreams []Upstream, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		statuses := make(map[string]string, len(upstreams))
		ready := true
		for _, upstream := range upstreams {
			status := checkUpstream(ctx, httpClient, upstream)
			statuses[upstream.Name] = status
			ready = ready && status == grpchealth.StatusServing.String()
		}
		code, overall := http.StatusOK, "ready"
		if !ready {
			code, overall = http.StatusServiceUnavailable, "not ready"
		}
		resterr.WriteJSON(w, code, map[string]any{"status": overall, "upstreams": statuses})
	})
}

func checkUpstream(ctx context.Context, httpClient *http.Client, upstream Upstream) string {
	client := grpchealth.NewClient(httpClient, strings.TrimSuffix(upstream.URL.String(), "/"))
	for _, service := range upstream.Services {
		res, err := client.Check(ctx, &grpchealth.CheckRequest{Service: service})
		if err != nil {
			return "UNREACHABLE: " + err.Error()
		}
		if res.Status != grpchealth.StatusServing {
			return res.Status.String()
		}
	}
	return grpchealth.StatusServing.String()
}
