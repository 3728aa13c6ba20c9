// Command labs runs the labs service (the register of labs) or its schema
// migrations:
//
//	labs [serve]
//	labs migrate up|down|status
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/co2-calculator/co2-calculator/migrations"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsapi"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsdb"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/logging"
	"github.com/co2-calculator/co2-calculator/services/platform/migrate"
	"github.com/co2-calculator/co2-calculator/services/platform/pg"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/telemetry"
)

const (
	serviceName = "labs"
	schema      = "labs"
)

// Config is everything the labs service reads from its environment.
type Config struct {
	ListenAddr string `env:"LISTEN_ADDR, default=:8001"`
	Log        logging.Config
	DB         pg.Config
	Server     server.Config
	Telemetry  telemetry.Config
	Auth       authn.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "labs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	if err := config.Load(ctx, &cfg); err != nil {
		return err
	}
	logger, err := logging.New(stdout, serviceName, cfg.Log)
	if err != nil {
		return err
	}

	command := "serve"
	if len(args) > 0 {
		command = args[0]
	}
	switch {
	case command == "migrate" && len(args) == 2:
		pool, err := pg.Open(ctx, cfg.DB)
		if err != nil {
			return err
		}
		defer pool.Close()
		return migrate.Run(ctx, pool, schema, migrations.Labs, args[1], stdout)
	case command != "serve" || len(args) > 1:
		return fmt.Errorf("usage: labs [serve] | labs migrate %s", migrate.Commands)
	}

	logger.Info("starting", "config", cfg)
	metrics, shutdownTelemetry, err := telemetry.Setup(ctx, serviceName, cfg.Telemetry)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit

	pool, err := pg.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer pool.Close()

	verifier, err := authn.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return err
	}
	store := labsdb.NewStore(pool)
	// Labs reads memberships from its own tables on every request: no cache,
	// so a revoked role stops counting here at once.
	labs := labsbus.New(store, authz.NewAuthorizer(labsbus.GrantSource{Store: store}, 0))

	srv := server.New(cfg.Server, logger, metrics)
	srv.SetReadiness(pool.Ping)
	options, err := srv.HandlerOptions(authn.Interceptor(verifier, logger))
	if err != nil {
		return err
	}
	path, handler := labsv1connect.NewLabsServiceHandler(labsapi.New(labs), options...)
	srv.Mount(labsv1connect.LabsServiceName, path, handler)
	path, handler = labsv1connect.NewLabsInternalServiceHandler(labsapi.NewInternal(labs), options...)
	srv.Mount(labsv1connect.LabsInternalServiceName, path, handler)
	return srv.ListenAndServe(ctx, cfg.ListenAddr)
}
