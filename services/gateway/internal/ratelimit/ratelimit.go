// Package ratelimit counts each caller's requests against the budget of
// their route's class in Redis, so the gateway's replicas share one budget.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"
)

// Limit is a request budget: Requests per Period, for example "600/1m".
// Zero requests turns the limit off.
type Limit struct {
	Requests int
	Period   time.Duration
}

// UnmarshalText reads "N/period" such as 600/1m or 10/1m.
func (r *Limit) UnmarshalText(text []byte) error {
	requests, period, found := strings.Cut(string(text), "/")
	n, err := strconv.Atoi(strings.TrimSpace(requests))
	if !found || err != nil || n < 0 {
		return fmt.Errorf("%q: want requests/period such as 600/1m", text)
	}
	d, err := time.ParseDuration(strings.TrimSpace(period))
	if err != nil || d <= 0 {
		return fmt.Errorf("%q: want requests/period such as 600/1m", text)
	}
	*r = Limit{Requests: n, Period: d}
	return nil
}

func (r Limit) String() string { return fmt.Sprintf("%d/%s", r.Requests, r.Period) }

// Route classes, each with its own budget.
const (
	ClassRead      = "read"
	ClassWrite     = "write"
	ClassUpload    = "upload"
	ClassAnonymous = "anonymous"
)

// Limits are the budgets per route class. Authenticated callers are
// counted per subject, unauthenticated ones per client address.
type Limits struct {
	Read      Limit
	Write     Limit
	Upload    Limit
	Anonymous Limit
}

func (l Limits) of(class string) Limit {
	switch class {
	case ClassRead:
		return l.Read
	case ClassWrite:
		return l.Write
	case ClassUpload:
		return l.Upload
	default:
		return l.Anonymous
	}
}

// Limiter counts requests in Redis, so gateway replicas share one budget
// (GCRA, from the go-redis team's redis_rate).
type Limiter struct {
	limiter  *redis_rate.Limiter
	limits   Limits
	prefix   string
	logger   *slog.Logger
	refusals metric.Int64Counter
}

func New(client *redis.Client, limits Limits, prefix string, logger *slog.Logger) *Limiter {
	if client == nil {
		return nil
	}
	// A failure leaves a no-op instrument (the SDK logs it), never nil.
	refusals, _ := otel.Meter("co2-calculator/gateway").Int64Counter("gateway.ratelimit.refusals", metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused with 429, by budget (read, write, upload, anonymous)"))
	return &Limiter{limiter: redis_rate.NewLimiter(client), limits: limits, prefix: prefix, logger: logger, refusals: refusals}
}

// Allow counts one request of class by key and sets the RateLimit-* headers.
// It answers false, after writing 429 with Retry-After, when the budget is
// spent. When Redis cannot be reached the request is let through (and
// logged): rate limiting protects the system, it must not take it down.
func (l *Limiter) Allow(ctx context.Context, w http.ResponseWriter, class, key string) bool {
	if l == nil {
		return true
	}
	limit := l.limits.of(class)
	if limit.Requests == 0 {
		return true
	}
	result, err := l.limiter.Allow(ctx, l.prefix+class+":"+key, redis_rate.Limit{Rate: limit.Requests, Burst: limit.Requests, Period: limit.Period})
	if err != nil {
		l.logger.WarnContext(ctx, "rate limit not counted: Redis unavailable", "error", err)
		return true
	}
	header := w.Header()
	header.Set("RateLimit-Limit", strconv.Itoa(limit.Requests))
	header.Set("RateLimit-Remaining", strconv.Itoa(result.Remaining))
	header.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(result.ResetAfter)))
	if result.Allowed > 0 {
		return true
	}
	l.refusals.Add(ctx, 1, metric.WithAttributes(attribute.String("class", class)))
	retryAfter := ceilSeconds(result.RetryAfter)
	header.Set("Retry-After", strconv.Itoa(retryAfter))
	resterr.WriteJSON(w, http.StatusTooManyRequests, map[string]any{
		"code":    8, // google.rpc.Code RESOURCE_EXHAUSTED
		"message": fmt.Sprintf("too many %s requests: at most %s; retry in %d s", class, limit, retryAfter),
		"details": []any{},
	})
	return false
}

func ceilSeconds(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}
