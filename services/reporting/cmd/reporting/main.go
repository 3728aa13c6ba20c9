// Command reporting runs the reporting service: lab and institution
// reports built from calc's rollups, their charts, and the asynq workers
// that write detailed exports.
//
//	reporting [serve]
//	reporting migrate up|down|status
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/pgnotify"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/auditbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/clients"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportqueue"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/objectivebus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/purgebus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingapi"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingdb"
)

// Config is everything the reporting service reads from its environment.
type Config struct {
	service.Base
	ListenAddr string           `env:"LISTEN_ADDR, default=:8004"`
	RedisURL   config.SecretURL `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	LabsURL    string           `env:"LABS_URL, default=http://127.0.0.1:8001"`
	CalcURL    string           `env:"CALC_URL, default=http://127.0.0.1:8003"`
	// IngestURL is where ingest serves its audit trail.
	IngestURL string `env:"INGEST_URL, default=http://127.0.0.1:8002"`
	// ExportQueue is the asynq queue export tasks wait in.
	ExportQueue string `env:"EXPORT_QUEUE, default=exports"`
	// ExportWorkers is how many exports this process writes at once; 0 runs
	// no worker (API only).
	ExportWorkers int `env:"EXPORT_WORKERS, default=1"`
	Exports       exportbus.ExportsConfig
	ExportWatch   exportbus.WatchConfig
	Objectives    objectivebus.Config
	Authz         authz.Config
	ServiceAuth   authn.ServiceConfig
}

func main() { process.Main("reporting", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "reporting", "reporting", reportingmigrations.Migrations, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		clientOptions := rt.Caller.Options
		// Calc's report data and lab names take the service identity.
		serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
		if err != nil {
			return err
		}
		serviceOptions := append(append([]connect.ClientOption{}, clientOptions...), connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
		httpClient := rt.Caller.HTTP
		calc := clients.NewCalc(httpClient, cfg.CalcURL, serviceOptions...)
		labs := clients.NewLabs(httpClient, cfg.LabsURL, clientOptions, serviceOptions)
		authorizer := authz.NewAuthorizer(labs, cfg.Authz)

		redisOpt, err := jobqueue.RedisOpt(cfg.RedisURL)
		if err != nil {
			return err
		}
		tasks := jobqueue.New(redisOpt, cfg.ExportQueue)
		defer tasks.Close()
		if err := tasks.Instrument(); err != nil {
			return err
		}
		reports := reportingbus.NewReports(calc, labs, authorizer)
		store := reportingdb.NewStore(rt.Pool)
		exports := exportbus.NewExports(reports, calc, store, exportqueue.New(tasks), rt.Logger, cfg.Exports, process.InstanceName())
		if cfg.ExportWorkers > 0 {
			stopWorkers, err := startWorkers(cfg, rt.Logger, redisOpt, exports)
			if err != nil {
				return err
			}
			defer stopWorkers()
		}
		go exports.RunPoller(ctx)
		changes := pgnotify.New(rt.Logger, rt.Pool, exportbus.ExportChangedChannel)
		go changes.Run(ctx)
		watchers := exportbus.NewWatchers(exports, changes, cfg.ExportWatch)
		if err := watchers.Instrument(); err != nil {
			return err
		}

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		// The audit trail: every service's own, read with the service
		// identity, reporting's from its own schema.
		trail := auditbus.New([]auditbus.Source{
			clients.NewAuditSource("labs", httpClient, cfg.LabsURL, serviceOptions...),
			clients.NewAuditSource("ingest", httpClient, cfg.IngestURL, serviceOptions...),
			clients.NewAuditSource("calc", httpClient, cfg.CalcURL, serviceOptions...),
			auditbus.Local("reporting", auditpg.NewStore(rt.Pool, reportingdb.Schema)),
		}, reports, authorizer)
		objectives := objectivebus.New(store, reports, calc, labs, authorizer, cfg.Objectives)
		path, handler := reportingv1connect.NewReportServiceHandler(reportingapi.New(reports, objectives, exports, watchers, trail,
			// Scenarios are calc's, read as the caller.
			clients.NewScenarios(httpClient, cfg.CalcURL, clientOptions...)), options...)
		rt.Server.Mount(reportingv1connect.ReportServiceName, path, handler)
		path, handler = reportingv1connect.NewObjectiveServiceHandler(reportingapi.NewObjectives(objectives), options...)
		rt.Server.Mount(reportingv1connect.ObjectiveServiceName, path, handler)
		// Internal: the labs service purging a lab, service role only.
		path, handler = reportingv1connect.NewLabPurgeServiceHandler(reportingapi.NewPurge(purgebus.New(rt.Logger, store)), options...)
		rt.Server.Mount(reportingv1connect.LabPurgeServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}

// startWorkers runs the asynq server that writes exports.
func startWorkers(cfg Config, logger *slog.Logger, redisOpt asynq.RedisClientOpt, exports *exportbus.Exports) (func(), error) {
	workers := jobqueue.NewServer(redisOpt, cfg.ExportQueue, cfg.ExportWorkers, cfg.Server.ShutdownTimeout, logger)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, logger, exportqueue.Task, func(ctx context.Context, task *exportqueue.ReportExport) error {
		id, err := uuid.Parse(task.ExportID)
		if err != nil {
			return fmt.Errorf("export task without an export id (%q): %w", task.ExportID, err)
		}
		return exports.Run(ctx, id)
	})
	if err := workers.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	logger.Info("export workers started", "concurrency", cfg.ExportWorkers)
	return workers.Shutdown, nil
}
