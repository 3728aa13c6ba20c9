// Command gateway runs the REST edge of co2-calculator: /api/v1 transcoded
// to the services' Connect APIs, plus /health, /ready, /docs, /openapi.json
// and /metrics.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/gateway"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/ratelimit"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/logging"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/telemetry"
)

const serviceName = "gateway"

// Config is everything the gateway reads from its environment.
type Config struct {
	ListenAddr   string `env:"LISTEN_ADDR, default=:8000"`
	LabsURL      string `env:"LABS_URL, default=http://127.0.0.1:8001"`
	IngestURL    string `env:"INGEST_URL, default=http://127.0.0.1:8002"`
	CalcURL      string `env:"CALC_URL, default=http://127.0.0.1:8003"`
	ReportingURL string `env:"REPORTING_URL, default=http://127.0.0.1:8004"`
	// CORSOrigins are the browser origins allowed to call the API,
	// comma-separated (for example https://co2.example.org).
	CORSOrigins []string `env:"CORS_ORIGINS"`
	// ReadyTimeout bounds /ready's health checks of the upstreams.
	ReadyTimeout time.Duration `env:"READY_TIMEOUT, default=2s"`
	// RedisURL holds the rate-limit counters shared by every replica.
	RedisURL config.SecretURL `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	// Rate limits per route class, as requests/period; 0/1m turns one off.
	// Authenticated callers are counted per subject, others per address.
	RateLimitRead      ratelimit.Limit `env:"RATE_LIMIT_READ, default=600/1m"`
	RateLimitWrite     ratelimit.Limit `env:"RATE_LIMIT_WRITE, default=120/1m"`
	RateLimitUpload    ratelimit.Limit `env:"RATE_LIMIT_UPLOAD, default=10/1m"`
	RateLimitAnonymous ratelimit.Limit `env:"RATE_LIMIT_ANONYMOUS, default=60/1m"`
	RateLimitPrefix    string          `env:"RATE_LIMIT_PREFIX, default=co2:ratelimit:"`
	// MaxBodyBytes bounds JSON request bodies (413 beyond).
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES, default=1048576"`
	// MaxUploadBytes bounds CSV uploads (413 beyond).
	MaxUploadBytes int64 `env:"MAX_UPLOAD_BYTES, default=536870912"`
	// TrustedProxies are the addresses (IPs or CIDRs, comma-separated) of
	// the proxies in front of the gateway (an ingress, a load balancer):
	// only their X-Forwarded-For names the client, for the per-address
	// limit. Empty: the peer address is the client.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	Events         gateway.EventLimits
	Auth           authn.Config
	Log            logging.Config
	Server         server.Config
	RPC            rpcclient.Config
	Telemetry      telemetry.Config
}

func main() {
	process.Main("gateway", func(ctx context.Context, _ []string, stdout io.Writer) error { return run(ctx, stdout) })
}

func run(ctx context.Context, stdout io.Writer) error {
	var cfg Config
	if err := config.Load(ctx, &cfg); err != nil {
		return err
	}
	logger, err := logging.New(stdout, serviceName, cfg.Log)
	if err != nil {
		return err
	}
	logger.Info("starting", "config", cfg)
	metrics, shutdownTelemetry, err := telemetry.Setup(ctx, serviceName, cfg.Telemetry)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit

	var upstreams []gateway.Upstream
	for _, upstream := range []struct {
		name, variable, url string
		services            []string
	}{
		{"labs", "LABS_URL", cfg.LabsURL, []string{labsv1connect.LabsServiceName}},
		{"ingest", "INGEST_URL", cfg.IngestURL, []string{ingestv1connect.ImportServiceName}},
		{"calc", "CALC_URL", cfg.CalcURL, []string{calcv1connect.TemplateServiceName, calcv1connect.ActivityServiceName, calcv1connect.FactorServiceName, calcv1connect.ElectricityContractServiceName, calcv1connect.ReportingYearServiceName, calcv1connect.ScenarioServiceName}},
		{"reporting", "REPORTING_URL", cfg.ReportingURL, []string{reportingv1connect.ReportServiceName, reportingv1connect.ObjectiveServiceName}},
	} {
		parsed, err := upstreamURL(upstream.variable, upstream.url)
		if err != nil {
			return err
		}
		upstreams = append(upstreams, gateway.Upstream{Name: upstream.name, URL: parsed, Services: upstream.services})
	}
	verifier, err := authn.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return err
	}
	redisOptions, err := redis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return fmt.Errorf("REDIS_URL %s: %w", cfg.RedisURL, err)
	}
	redisClient := redis.NewClient(redisOptions)
	defer redisClient.Close()
	trustedProxies, err := prefixes("TRUSTED_PROXIES", cfg.TrustedProxies)
	if err != nil {
		return err
	}
	caller, err := rpcclient.New(cfg.RPC, cfg.Server.Limits)
	if err != nil {
		return err
	}

	api, err := gateway.New(logger, upstreams, gateway.Options{
		CORSOrigins:  cfg.CORSOrigins,
		ReadyTimeout: cfg.ReadyTimeout,
		Verifier:     verifier,
		Redis:        redisClient,
		RateLimits: ratelimit.Limits{
			Read: cfg.RateLimitRead, Write: cfg.RateLimitWrite, Upload: cfg.RateLimitUpload, Anonymous: cfg.RateLimitAnonymous,
		},
		RateLimitPrefix: cfg.RateLimitPrefix,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		MaxUploadBytes:  cfg.MaxUploadBytes,
		TrustedProxies:  trustedProxies,
		Limits:          cfg.Server.Limits,
		Caller:          caller,
		Events:          cfg.Events,
		IssuerURL:       cfg.Auth.IssuerURL,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	server.MountDebug(mux, cfg.Server)
	mux.Handle("/", api)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	return server.ServeHTTP(ctx, cfg.Server, logger, ln, mux, nil)
}

func upstreamURL(variable, value string) (*url.URL, error) {
	parsed, err := url.Parse(value)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return nil, fmt.Errorf("%s %q: want a base URL such as http://labs:8001", variable, value)
	}
	return parsed, nil
}

// prefixes reads a list of IPs and CIDRs.
func prefixes(variable string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, value := range values {
		value = strings.TrimSpace(value)
		if value == "" {
			continue
		}
		if addr, err := netip.ParseAddr(value); err == nil {
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		prefix, err := netip.ParsePrefix(value)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want IP addresses or CIDR ranges such as 10.0.0.0/8", variable, value)
		}
		out = append(out, prefix.Masked())
	}
	return out, nil
}
