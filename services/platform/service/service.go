// Package service does what every service's main does before its own
// wiring: read the configuration, set up logs and telemetry, answer the
// migrate command, open the database, and get ready to verify tokens.
package service

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/logging"
	"github.com/co2-calculator/co2-calculator/services/platform/migrate"
	"github.com/co2-calculator/co2-calculator/services/platform/pg"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/telemetry"
)

// Base is the configuration every service shares; a service's own Config
// embeds it.
type Base struct {
	Log       logging.Config
	DB        pg.Config
	Server    server.Config
	RPC       rpcclient.Config
	Telemetry telemetry.Config
	Auth      authn.Config
}

// Shared returns the shared part of a service's configuration.
func (b *Base) Shared() *Base { return b }

// Config is a service's configuration: a struct embedding Base.
type Config interface{ Shared() *Base }

// Runtime is what a service's wiring starts from.
type Runtime struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Verifier *authn.Verifier
	// Server serves /health, /ready (the database answers) and /metrics;
	// the service mounts its Connect handlers on it.
	Server *server.Server
	// Caller calls other services.
	Caller rpcclient.Caller
}

// Run loads cfg from the environment, then carries out args: `migrate
// up|down|status` on the service's schema, or serve (no arguments, or
// `serve`) by calling serve with the runtime.
func Run(ctx context.Context, name, schema string, migrations fs.FS, args []string, stdout io.Writer, cfg Config, serve func(context.Context, Runtime) error) error {
	if err := config.Load(ctx, cfg); err != nil {
		return err
	}
	base := cfg.Shared()
	logger, err := logging.New(stdout, name, base.Log)
	if err != nil {
		return err
	}
	command := "serve"
	if len(args) > 0 {
		command = args[0]
	}
	switch {
	case command == "migrate" && len(args) == 2 && schema != "":
		pool, err := pg.Open(ctx, base.DB)
		if err != nil {
			return err
		}
		defer pool.Close()
		return migrate.Run(ctx, pool, schema, migrations, args[1], stdout)
	case command != "serve" || len(args) > 1:
		return fmt.Errorf("usage: %s [serve] | %s migrate %s", name, name, migrate.Commands)
	}

	logger.Info("starting", "config", cfg)
	metrics, shutdownTelemetry, err := telemetry.Setup(ctx, name, base.Telemetry)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit

	pool, err := pg.Open(ctx, base.DB)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pg.Instrument(pool); err != nil {
		return err
	}
	verifier, err := authn.NewVerifier(ctx, base.Auth)
	if err != nil {
		return err
	}
	caller, err := rpcclient.New(base.RPC, base.Server.Limits)
	if err != nil {
		return err
	}
	srv := server.New(base.Server, logger, metrics)
	srv.SetReadiness(pool.Ping)
	return serve(ctx, Runtime{Logger: logger, Pool: pool, Verifier: verifier, Server: srv, Caller: caller})
}
