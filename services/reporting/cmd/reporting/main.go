// Command reporting runs the reporting service: lab and institution
// reports built from calc's rollups, their charts, and the asynq workers
// that write detailed exports.
//
//	reporting [serve]
//	reporting migrate up|down|status
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"

	"github.com/co2-calculator/co2-calculator/migrations"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
	"github.com/co2-calculator/co2-calculator/services/platform/tasks"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/clients"
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
	// ExportQueue is the asynq queue export tasks wait in.
	ExportQueue string `env:"EXPORT_QUEUE, default=exports"`
	// ExportWorkers is how many exports this process writes at once; 0 runs
	// no worker (API only).
	ExportWorkers int `env:"EXPORT_WORKERS, default=1"`
	// ExportAttempts is how many times an export is tried before it fails.
	ExportAttempts int `env:"EXPORT_ATTEMPTS, default=3"`
	// ExportRequeueAfter is how long an export may stay queued before its
	// task is queued again (in case Redis lost it); it is checked as often.
	ExportRequeueAfter time.Duration `env:"EXPORT_REQUEUE_AFTER, default=1m"`
	Authz              authz.Config
	ServiceAuth        authn.ServiceConfig
}

func main() { process.Main("reporting", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "reporting", "reporting", migrations.Reporting, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		clientOptions := rt.Caller.Options
		// Calc's report data and lab names take the service identity.
		serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
		if err != nil {
			return err
		}
		serviceOptions := append(append([]connect.ClientOption{}, clientOptions...), connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
		httpClient := rt.Caller.HTTP
		authorizer := authz.NewAuthorizer(authz.NewLabsGrants(httpClient, cfg.LabsURL, clientOptions...), cfg.Authz)
		calc := clients.NewCalc(httpClient, cfg.CalcURL, serviceOptions...)
		labs := clients.NewLabs(httpClient, cfg.LabsURL, clientOptions, serviceOptions)

		redisOpt, err := tasks.RedisOpt(cfg.RedisURL)
		if err != nil {
			return err
		}
		queue := reportingbus.NewQueue(redisOpt, cfg.ExportQueue, cfg.ExportAttempts)
		defer queue.Close()
		reports := reportingbus.NewReports(calc, labs, authorizer)
		exports := reportingbus.NewExports(reports, reportingdb.NewStore(rt.Pool), queue, rt.Logger, int32(cfg.ExportAttempts))
		if cfg.ExportWorkers > 0 {
			stopWorkers, err := startWorkers(cfg, rt.Logger, redisOpt, exports)
			if err != nil {
				return err
			}
			defer stopWorkers()
			go requeueLost(ctx, rt.Logger, exports, cfg.ExportRequeueAfter)
		}

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := reportingv1connect.NewReportServiceHandler(reportingapi.New(reports, exports), options...)
		rt.Server.Mount(reportingv1connect.ReportServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}

// startWorkers runs the asynq server that writes exports.
func startWorkers(cfg Config, logger *slog.Logger, redisOpt asynq.RedisClientOpt, exports *reportingbus.Exports) (func(), error) {
	workers := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:       cfg.ExportWorkers,
		Queues:            map[string]int{cfg.ExportQueue: 1},
		LogLevel:          asynq.WarnLevel,
		TaskCheckInterval: 200 * time.Millisecond,
		ShutdownTimeout:   cfg.Server.ShutdownTimeout,
		RetryDelayFunc:    func(n int, _ error, _ *asynq.Task) time.Duration { return time.Duration(n) * 5 * time.Second },
	})
	mux := asynq.NewServeMux()
	tracer := otel.Tracer("co2-calculator/reporting")
	mux.HandleFunc(reportingbus.TypeReportExport, func(ctx context.Context, task *asynq.Task) error {
		ctx, span := tracer.Start(tasks.ContextOf(ctx, task), reportingbus.TypeReportExport)
		defer span.End()
		var payload reportingbus.ReportExportTask
		if err := json.Unmarshal(task.Payload(), &payload); err != nil {
			logger.ErrorContext(ctx, "malformed export task dropped", "error", err)
			return nil
		}
		id, err := uuid.Parse(payload.ExportID)
		if err != nil {
			logger.ErrorContext(ctx, "export task without an export id dropped", "export", payload.ExportID)
			return nil
		}
		return exports.Run(ctx, id)
	})
	if err := workers.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	logger.Info("export workers started", "concurrency", cfg.ExportWorkers)
	return workers.Shutdown, nil
}

// requeueLost queues again, every interval, the exports still queued
// interval after they were made, until ctx ends.
func requeueLost(ctx context.Context, logger *slog.Logger, exports *reportingbus.Exports, interval time.Duration) {
	process.Every(ctx, interval, false, func(ctx context.Context) {
		n, err := exports.Requeue(ctx, interval)
		if err != nil {
			logger.WarnContext(ctx, "requeue exports", "error", err)
		} else if n > 0 {
			logger.InfoContext(ctx, "exports queued again", "exports", n)
		}
	})
}
