// Package pg opens the PostgreSQL connection pool a service uses, traced with
// OpenTelemetry and bounded in time: waiting for a connection, a statement
// and a transaction left idle all have a limit.
package pg

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// Config is the database part of every service's configuration.
type Config struct {
	URL      config.SecretURL `env:"DB_URL, default=postgres://postgres@127.0.0.1:5432/co2?sslmode=disable"`
	MaxConns int32            `env:"DB_MAX_CONNS, default=20"`
	// AcquireTimeout is how long a request waits for a free connection of
	// the pool before it fails (a pool held by slow work fails fast).
	AcquireTimeout time.Duration `env:"DB_ACQUIRE_TIMEOUT, default=10s"`
	// StatementTimeout is PostgreSQL's statement_timeout for this
	// service's sessions (0: the server's). Work known to be long (an
	// import's COPY) sets its own for its transaction.
	StatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT, default=1m"`
	// IdleInTransactionTimeout ends a session whose transaction waits this
	// long between statements (a frozen or vanished client), releasing its
	// locks (PostgreSQL's idle_in_transaction_session_timeout; 0: never).
	IdleInTransactionTimeout time.Duration `env:"DB_IDLE_IN_TRANSACTION_TIMEOUT, default=1m"`
}

// Open connects a pool and checks the database answers.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	poolConfig, err := pgxpool.ParseConfig(cfg.URL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("DB_URL %s: %w", cfg.URL, err)
	}
	if cfg.MaxConns < 1 {
		return nil, fmt.Errorf("DB_MAX_CONNS %d: want at least 1", cfg.MaxConns)
	}
	poolConfig.MaxConns = cfg.MaxConns
	setMillis(poolConfig.ConnConfig.RuntimeParams, "statement_timeout", cfg.StatementTimeout)
	setMillis(poolConfig.ConnConfig.RuntimeParams, "idle_in_transaction_session_timeout", cfg.IdleInTransactionTimeout)
	tracers := []pgx.QueryTracer{otelpgx.NewTracer()}
	if cfg.AcquireTimeout > 0 {
		tracers = append(tracers, acquireTimeout{cfg.AcquireTimeout})
	}
	poolConfig.ConnConfig.Tracer = multitracer.New(tracers...)
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	return pool, nil
}

func setMillis(params map[string]string, name string, d time.Duration) {
	if d > 0 {
		params[name] = strconv.FormatInt(d.Milliseconds(), 10)
	}
}

// acquireTimeout bounds the wait for a pool connection: pgxpool has no
// setting of its own, but takes the context a tracer hands back for the
// wait, and only for the wait.
type acquireTimeout struct{ timeout time.Duration }

type acquireCancelKey struct{}

func (a acquireTimeout) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	return context.WithValue(ctx, acquireCancelKey{}, cancel)
}

func (acquireTimeout) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(acquireCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

func (acquireTimeout) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireTimeout) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
