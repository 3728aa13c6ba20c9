// Command ingest runs the ingest service (CSV uploads and the import jobs
// that process them, with the safety-net poller) or its migrations:
//
//	ingest [serve]
//	ingest migrate up|down|status
package main

import (
	"context"
	"io"
	"time"

	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1/auditv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestapi"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestdb"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/labs"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/queue"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/templates"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/workerbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditapi"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/pgnotify"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
)

// Config is everything the ingest service reads from its environment.
type Config struct {
	service.Base
	ListenAddr string           `env:"LISTEN_ADDR, default=:8002"`
	RedisURL   config.SecretURL `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	LabsURL    string           `env:"LABS_URL, default=http://127.0.0.1:8001"`
	CalcURL    string           `env:"CALC_URL, default=http://127.0.0.1:8003"`
	// TemplatesCacheTTL is how long a kind's required columns are reused.
	TemplatesCacheTTL time.Duration `env:"TEMPLATES_CACHE_TTL, default=5m"`
	// ImportQueue is the asynq queue import tasks wait in; calc's workers
	// read the same variable.
	ImportQueue string `env:"IMPORT_QUEUE, default=imports"`
	Imports     ingestbus.Config
	Poller      ingestbus.PollerConfig
	Watch       ingestbus.WatchConfig
	Authz       authz.Config
}

func main() { process.Main("ingest", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "ingest", "ingest", ingestmigrations.Migrations, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		redisOpt, err := jobqueue.RedisOpt(cfg.RedisURL)
		if err != nil {
			return err
		}
		importQueue := jobqueue.New(redisOpt, cfg.ImportQueue)
		defer importQueue.Close()
		if err := importQueue.Instrument(); err != nil {
			return err
		}
		clientOptions := rt.Caller.Options
		httpClient := rt.Caller.HTTP
		labsClient := labs.NewGrants(httpClient, cfg.LabsURL, clientOptions...)
		authorizer := authz.NewAuthorizer(labsClient, cfg.Authz)
		store := ingestdb.NewStore(rt.Pool)
		imports := ingestbus.New(rt.Logger, store, authorizer,
			templates.New(httpClient, cfg.CalcURL, cfg.TemplatesCacheTTL, clientOptions...), labsClient, queue.New(importQueue), cfg.Imports)

		go imports.RunPoller(ctx, cfg.Poller)
		changes := pgnotify.New(rt.Logger, rt.Pool, ingestbus.JobChangedChannel)
		go changes.Run(ctx)
		watchers := ingestbus.NewWatchers(imports, changes, cfg.Watch)
		if err := watchers.Instrument(); err != nil {
			return err
		}

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := ingestv1connect.NewImportServiceHandler(ingestapi.New(imports, watchers), options...)
		rt.Server.Mount(ingestv1connect.ImportServiceName, path, handler)
		path, handler = ingestv1connect.NewImportWorkerServiceHandler(ingestapi.NewWorker(workerbus.New(store, cfg.Imports)), options...)
		rt.Server.Mount(ingestv1connect.ImportWorkerServiceName, path, handler)
		path, handler = ingestv1connect.NewLabPurgeServiceHandler(ingestapi.NewPurge(imports), options...)
		rt.Server.Mount(ingestv1connect.LabPurgeServiceName, path, handler)
		// The service's own audit trail, which reporting reads (ADR 018).
		path, handler = auditv1connect.NewAuditServiceHandler(auditapi.NewHandler("ingest", audit.NewTrail(auditpg.NewStore(rt.Pool, ingestdb.Schema))), options...)
		rt.Server.Mount(auditv1connect.AuditServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}
