// Command calc runs the calc service: the kinds of activity data and their
// templates over Connect, and the asynq workers that process import jobs.
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
	"os/signal"
	"syscall"
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
	"github.com/co2-calculator/co2-calculator/services/calc/internal/clients"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
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
	// LabCacheTTL is how long a lab's country is reused by single entries
	// (a changed country counts for new entries after at most this long).
	LabCacheTTL time.Duration `env:"LAB_CACHE_TTL, default=5m"`
	Queue       tasks.QueueConfig
	Authz       authz.Config
	Importer    calcbus.ImporterConfig
	ServiceAuth authn.ServiceConfig
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "calc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "calc", "calc", migrations.Calc, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		store := calcdb.NewStore(rt.Pool)
		factorCache := calcbus.NewFactorCache(store)
		if err := factorCache.LoadDefault(ctx); err != nil {
			return err
		}
		if cfg.WorkerConcurrency > 0 {
			stopWorkers, err := startWorkers(ctx, cfg, rt.Logger, store, factorCache)
			if err != nil {
				return err
			}
			defer stopWorkers()
		}
		clientOptions, err := rpcclient.Options()
		if err != nil {
			return err
		}
		httpClient := rpcclient.HTTPClient()
		authorizer := authz.NewAuthorizer(authz.NewLabsGrants(httpClient, cfg.LabsURL, clientOptions...), cfg.Authz.GrantsCacheTTL)
		entries := calcbus.NewEntries(store, authorizer, clients.NewLabsAsCaller(httpClient, cfg.LabsURL, cfg.LabCacheTTL, clientOptions...), factorCache)

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := calcv1connect.NewTemplateServiceHandler(calcapi.Templates{}, options...)
		rt.Server.Mount(calcv1connect.TemplateServiceName, path, handler)
		path, handler = calcv1connect.NewActivityServiceHandler(calcapi.NewActivities(entries), options...)
		rt.Server.Mount(calcv1connect.ActivityServiceName, path, handler)
		path, handler = calcv1connect.NewFactorServiceHandler(calcapi.NewFactors(calcbus.NewFactorQueries(store, authorizer)), options...)
		rt.Server.Mount(calcv1connect.FactorServiceName, path, handler)
		path, handler = calcv1connect.NewElectricityContractServiceHandler(calcapi.NewContracts(calcbus.NewContracts(store, authorizer)), options...)
		rt.Server.Mount(calcv1connect.ElectricityContractServiceName, path, handler)
		// Internal: the reporting service's figures, service role only.
		path, handler = calcv1connect.NewReportDataServiceHandler(calcapi.NewReportData(calcdb.New(rt.Pool), authorizer), options...)
		rt.Server.Mount(calcv1connect.ReportDataServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}

// startWorkers runs the asynq server that consumes import tasks.
func startWorkers(ctx context.Context, cfg Config, logger *slog.Logger, store *calcdb.Store, factorCache *calcbus.FactorCache) (func(), error) {
	serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
	if err != nil {
		return nil, err
	}
	clientOptions, err := rpcclient.Options()
	if err != nil {
		return nil, err
	}
	clientOptions = append(clientOptions, connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
	httpClient := rpcclient.HTTPClient()
	// Activity ids come by the million: draw their randomness from a pool
	// rather than a system call each.
	uuid.EnableRandPool()
	hostname, _ := os.Hostname()
	worker := fmt.Sprintf("%s-%d-%d", hostname, os.Getpid(), time.Now().UnixNano()%100000)

	importer := calcbus.NewImporter(logger, store, clients.NewJobs(httpClient, cfg.IngestURL, clientOptions...),
		clients.NewLabs(httpClient, cfg.LabsURL, clientOptions...), factorCache, worker, cfg.Importer)

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
	mux.HandleFunc(tasks.TypeImportProcess, func(ctx context.Context, task *asynq.Task) error {
		ctx, span := tracer.Start(tasks.ContextOf(ctx, task), tasks.TypeImportProcess)
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
	if err := workers.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	logger.Info("workers started", "worker", worker, "concurrency", cfg.WorkerConcurrency)
	return workers.Shutdown, nil
}
