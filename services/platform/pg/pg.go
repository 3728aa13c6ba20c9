// Package pg opens the PostgreSQL connection pool a service uses, traced with
// OpenTelemetry.
package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// Config is the database part of every service's configuration.
type Config struct {
	URL      config.SecretURL `env:"DB_URL, default=postgres://postgres@127.0.0.1:5432/co2?sslmode=disable"`
	MaxConns int32            `env:"DB_MAX_CONNS, default=20"`
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
	poolConfig.ConnConfig.Tracer = otelpgx.NewTracer()
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
