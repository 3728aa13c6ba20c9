// Command calc runs the calc service: the kinds of activity data and their
// templates, activities and factor datasets over Connect, and the asynq
// workers that process import jobs, sync factor datasets and recalculate
// emissions when factors change.
//
//	calc [serve]
//	calc migrate up|down|status
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"

	"github.com/co2-calculator/co2-calculator/migrations"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcapi"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/clients"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
	"github.com/co2-calculator/co2-calculator/services/platform/tasks"
)

// Config is everything the calc service reads from its environment.
type Config struct {
	service.Base
	ListenAddr string           `env:"LISTEN_ADDR, default=:8003"`
	RedisURL   config.SecretURL `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	LabsURL    string           `env:"LABS_URL, default=http://127.0.0.1:8001"`
	IngestURL  string           `env:"INGEST_URL, default=http://127.0.0.1:8002"`
	// WorkerConcurrency is how many import jobs this process runs at once;
	// 0 runs no worker (API only).
	WorkerConcurrency int `env:"WORKER_CONCURRENCY, default=2"`
	LabCache          clients.LabCacheConfig
	// FactorPollInterval is how often workers queue factor work whose task
	// was lost (sync jobs not started, recalculations not done).
	FactorPollInterval time.Duration `env:"FACTOR_POLL_INTERVAL, default=1m"`
	Queue              tasks.QueueConfig
	Authz              authz.Config
	Importer           calcbus.ImporterConfig
	Recalc             calcbus.RecalcConfig
	RecalcQueue        calcqueue.Config
	Datasets           calcbus.DatasetsConfig
	ServiceAuth        authn.ServiceConfig
}

func main() { process.Main("calc", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "calc", "calc", migrations.Calc, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		store := calcdb.NewStore(rt.Pool).WithImportStatementTimeout(cfg.Importer.StatementTimeout)
		factorCache := calcbus.NewFactorCache(store)
		if err := factorCache.LoadDefault(ctx); err != nil {
			return err
		}
		clientOptions := rt.Caller.Options
		httpClient := rt.Caller.HTTP
		authorizer := authz.NewAuthorizer(authz.NewLabsGrants(httpClient, cfg.LabsURL, clientOptions...), cfg.Authz)
		redisOpt, err := tasks.RedisOpt(cfg.RedisURL)
		if err != nil {
			return err
		}
		queue := calcqueue.New(redisOpt, cfg.Queue.Name, cfg.RecalcQueue)
		defer queue.Close()
		datasets := calcbus.NewDatasets(rt.Logger, store, store, authorizer, queue, cfg.Datasets)
		if cfg.WorkerConcurrency > 0 {
			stopWorkers, err := startWorkers(ctx, cfg, rt.Logger, rt.Caller, store, factorCache, datasets)
			if err != nil {
				return err
			}
			defer stopWorkers()
		}
		entries := calcbus.NewEntries(store, authorizer, clients.NewLabsAsCaller(httpClient, cfg.LabsURL, cfg.LabCache, clientOptions...), factorCache)

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := calcv1connect.NewTemplateServiceHandler(calcapi.Templates{}, options...)
		rt.Server.Mount(calcv1connect.TemplateServiceName, path, handler)
		path, handler = calcv1connect.NewActivityServiceHandler(calcapi.NewActivities(entries), options...)
		rt.Server.Mount(calcv1connect.ActivityServiceName, path, handler)
		path, handler = calcv1connect.NewFactorServiceHandler(calcapi.NewFactors(calcbus.NewFactorQueries(store, factorCache, authorizer), datasets), options...)
		rt.Server.Mount(calcv1connect.FactorServiceName, path, handler)
		path, handler = calcv1connect.NewElectricityContractServiceHandler(calcapi.NewContracts(calcbus.NewContracts(rt.Logger, store, authorizer, queue)), options...)
		rt.Server.Mount(calcv1connect.ElectricityContractServiceName, path, handler)
		// Internal: the reporting service's figures, service role only.
		path, handler = calcv1connect.NewReportDataServiceHandler(calcapi.NewReportData(calcdb.New(rt.Pool)), options...)
		rt.Server.Mount(calcv1connect.ReportDataServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}

// startWorkers runs the asynq server that consumes import, factor sync and
// recalculation tasks.
func startWorkers(ctx context.Context, cfg Config, logger *slog.Logger, caller rpcclient.Caller, store *calcdb.Store, factorCache *calcbus.FactorCache, datasets *calcbus.Datasets) (func(), error) {
	serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
	if err != nil {
		return nil, err
	}
	clientOptions := append(slices.Clip(caller.Options), connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
	httpClient := caller.HTTP
	// Activity ids come by the million: draw their randomness from a pool
	// rather than a system call each.
	uuid.EnableRandPool()
	hostname, _ := os.Hostname()
	worker := fmt.Sprintf("%s-%d-%d", hostname, os.Getpid(), time.Now().UnixNano()%100000)

	labs := clients.NewLabs(httpClient, cfg.LabsURL, cfg.LabCache, clientOptions...)
	importer := calcbus.NewImporter(logger, store, clients.NewJobs(httpClient, cfg.IngestURL, clientOptions...),
		labs, factorCache, worker, cfg.Importer)
	recalculator := calcbus.NewRecalculator(logger, store, labs, factorCache, cfg.Recalc)

	redisOpt, err := tasks.RedisOpt(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	workers := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency: cfg.WorkerConcurrency,
		Queues:      map[string]int{cfg.Queue.Name: 1},
		LogLevel:    asynq.WarnLevel,
		// Look for new tasks often: an idle worker otherwise waits a second.
		TaskCheckInterval: 100 * time.Millisecond,
		ShutdownTimeout:   cfg.Server.ShutdownTimeout,
	})
	mux := asynq.NewServeMux()
	tracer := otel.Tracer("co2-calculator/calc")
	mux.HandleFunc(tasks.TypeImportProcess, func(taskCtx context.Context, task *asynq.Task) error {
		// A shutdown stops the import at once and hands the job back
		// (asynq's own context does not end before its shutdown timeout,
		// and then it abandons the handler mid-transaction).
		taskCtx, stopImport := context.WithCancel(taskCtx)
		defer stopImport()
		defer context.AfterFunc(ctx, stopImport)()
		ctx, span := tracer.Start(tasks.ContextOf(taskCtx, task), tasks.TypeImportProcess)
		defer span.End()
		var payload tasks.ImportProcess
		if err := json.Unmarshal(task.Payload(), &payload); err != nil {
			logger.ErrorContext(ctx, "malformed import task dropped", "error", err)
			return nil
		}
		if err := importer.Process(ctx, payload.JobID); err != nil {
			// The job stays queued; the poller hands it out again.
			logger.WarnContext(ctx, "import not started", "job", payload.JobID, "error", err)
		}
		return nil
	})
	mux.HandleFunc(tasks.TypeFactorsSync, func(ctx context.Context, task *asynq.Task) error {
		ctx, span := tracer.Start(tasks.ContextOf(ctx, task), tasks.TypeFactorsSync)
		defer span.End()
		var payload tasks.FactorsSync
		versionID, err := uuid.Parse(jsonField(task.Payload(), &payload, func() string { return payload.VersionID }))
		if err != nil {
			logger.ErrorContext(ctx, "malformed factor sync task dropped", "error", err)
			return nil
		}
		if err := datasets.Sync(ctx, versionID); err != nil {
			// The version stays queued or running; the next start queues it.
			logger.ErrorContext(ctx, "factor sync failed", "version", versionID, "error", err)
		}
		return nil
	})
	mux.HandleFunc(tasks.TypeEmissionsRecalculate, func(ctx context.Context, task *asynq.Task) error {
		ctx, span := tracer.Start(tasks.ContextOf(ctx, task), tasks.TypeEmissionsRecalculate)
		defer span.End()
		var payload tasks.EmissionsRecalculate
		labID, err := uuid.Parse(jsonField(task.Payload(), &payload, func() string { return payload.LabID }))
		if err != nil {
			logger.ErrorContext(ctx, "malformed recalculation task dropped", "error", err)
			return nil
		}
		if err := recalculator.Recalculate(ctx, calcbus.RecalcTarget{LabID: labID, Year: payload.Year, Kind: payload.Kind}); err != nil {
			// The ask stays unanswered in the store; the next start queues it.
			logger.ErrorContext(ctx, "recalculation failed", "lab", labID, "year", payload.Year, "kind", payload.Kind, "error", err)
		}
		return nil
	})
	// The safety net of factor work whose task Redis lost: sync jobs still
	// queued, recalculations asked and not done (deduplicated as always).
	go process.Every(ctx, cfg.FactorPollInterval, true, func(ctx context.Context) {
		if err := datasets.Resume(ctx); err != nil {
			logger.WarnContext(ctx, "pending factor work not queued", "error", err)
		}
	})
	if err := workers.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	logger.Info("workers started", "worker", worker, "concurrency", cfg.WorkerConcurrency)
	return workers.Shutdown, nil
}

// jsonField decodes a task's payload into out and returns the field id
// reads (empty when the payload is not JSON).
func jsonField(payload []byte, out any, id func() string) string {
	if err := json.Unmarshal(payload, out); err != nil {
		return ""
	}
	return id()
}
