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
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1/auditv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcapi"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/clients"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/contractbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/contractdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrydb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/purgebus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/purgedb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatabus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatadb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/scenariobus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/scenariodb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/validationbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/validationdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yearbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yeardb"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditapi"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/pgnotify"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
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
	FactorPollInterval time.Duration `env:"FACTOR_POLL_INTERVAL, default=10s"`
	// FactorPollBatch is how many sync jobs, and how many recalculations,
	// one look queues at most.
	FactorPollBatch int32 `env:"FACTOR_POLL_BATCH, default=100"`
	// ImportQueue is the asynq queue calc's workers take tasks from:
	// ingest's import tasks (ingest reads the same variable) and calc's own.
	ImportQueue string `env:"IMPORT_QUEUE, default=imports"`
	Authz       authz.Config
	Importer    importbus.Config
	Recalc      recalcbus.Config
	RecalcWatch recalcbus.WatchConfig
	RecalcQueue calcqueue.Config
	Datasets    datasetbus.Config
	Scenarios   scenariobus.Config
	ServiceAuth authn.ServiceConfig
}

// importTask is the task ingest queues for each attempt at an import job.
var importTask = jobqueue.ProtoKind[ingestv1.ProcessImportTask]()

func main() { process.Main("calc", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "calc", "calc", calcmigrations.Migrations, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		factorStore := factordb.NewStore(rt.Pool)
		recalcStore := recalcdb.NewStore(rt.Pool)
		factorCache := factorbus.NewCache(factorStore)
		if err := factorCache.LoadDefault(ctx); err != nil {
			return err
		}
		clientOptions := rt.Caller.Options
		httpClient := rt.Caller.HTTP
		labsAsCaller := clients.NewLabsAsCaller(httpClient, cfg.LabsURL, cfg.LabCache, clientOptions...)
		authorizer := authz.NewAuthorizer(labsAsCaller, cfg.Authz)
		redisOpt, err := jobqueue.RedisOpt(cfg.RedisURL)
		if err != nil {
			return err
		}
		tasks := jobqueue.New(redisOpt, cfg.ImportQueue)
		defer tasks.Close()
		queue := calcqueue.New(tasks, cfg.RecalcQueue)
		asks := recalcbus.NewAsks(rt.Logger, recalcStore, queue)
		datasets := datasetbus.NewDatasets(rt.Logger, datasetdb.NewStore(rt.Pool), authorizer, queue, asks, factorCache, cfg.Datasets)
		if cfg.WorkerConcurrency > 0 {
			stopWorkers, err := startWorkers(ctx, cfg, rt.Logger, rt.Caller, redisOpt, rt.Pool, recalcStore, factorCache, datasets)
			if err != nil {
				return err
			}
			defer stopWorkers()
		}
		entries := entrybus.NewEntries(entrydb.NewStore(rt.Pool), authorizer, labsAsCaller, factorCache)

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := calcv1connect.NewTemplateServiceHandler(calcapi.Templates{}, options...)
		rt.Server.Mount(calcv1connect.TemplateServiceName, path, handler)
		validations := validationbus.New(validationdb.NewStore(rt.Pool), authorizer)
		path, handler = calcv1connect.NewActivityServiceHandler(calcapi.NewActivities(entries, validations), options...)
		rt.Server.Mount(calcv1connect.ActivityServiceName, path, handler)
		path, handler = calcv1connect.NewReportingYearServiceHandler(calcapi.NewYears(yearbus.New(yeardb.NewStore(rt.Pool), authorizer)), options...)
		rt.Server.Mount(calcv1connect.ReportingYearServiceName, path, handler)
		recalcChanges := pgnotify.New(rt.Logger, rt.Pool, recalcbus.RecalcChangedChannel)
		go recalcChanges.Run(ctx)
		recalcWatchers := recalcbus.NewWatchers(recalcStore, authorizer, recalcChanges, cfg.RecalcWatch)
		if err := recalcWatchers.Instrument(); err != nil {
			return err
		}
		path, handler = calcv1connect.NewFactorServiceHandler(calcapi.NewFactors(factorbus.NewSearch(factorStore, authorizer), datasets, recalcbus.NewHistory(recalcStore, authorizer), recalcWatchers), options...)
		rt.Server.Mount(calcv1connect.FactorServiceName, path, handler)
		path, handler = calcv1connect.NewElectricityContractServiceHandler(calcapi.NewContracts(contractbus.NewContracts(contractdb.NewStore(rt.Pool), authorizer, asks)), options...)
		rt.Server.Mount(calcv1connect.ElectricityContractServiceName, path, handler)
		scenarios := scenariobus.New(scenariodb.NewStore(rt.Pool), authorizer, labsAsCaller, factorCache, cfg.Scenarios)
		path, handler = calcv1connect.NewScenarioServiceHandler(calcapi.NewScenarios(scenarios), options...)
		rt.Server.Mount(calcv1connect.ScenarioServiceName, path, handler)
		// Internal: the reporting service's figures, service role only.
		path, handler = calcv1connect.NewReportDataServiceHandler(calcapi.NewReportData(reportdatabus.New(reportdatadb.NewStore(rt.Pool))), options...)
		rt.Server.Mount(calcv1connect.ReportDataServiceName, path, handler)
		// Internal: the labs service purging a lab, service role only.
		path, handler = calcv1connect.NewLabPurgeServiceHandler(calcapi.NewPurge(purgebus.New(rt.Logger, purgedb.NewStore(rt.Pool))), options...)
		rt.Server.Mount(calcv1connect.LabPurgeServiceName, path, handler)
		// The service's own audit trail, which reporting reads (ADR 018).
		path, handler = auditv1connect.NewAuditServiceHandler(auditapi.NewHandler("calc", audit.NewTrail(auditpg.NewStore(rt.Pool, ledgerdb.Schema))), options...)
		rt.Server.Mount(auditv1connect.AuditServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}

// startWorkers runs the asynq server that consumes import, factor sync and
// recalculation tasks.
func startWorkers(ctx context.Context, cfg Config, logger *slog.Logger, caller rpcclient.Caller, redisOpt asynq.RedisClientOpt, pool *pgxpool.Pool, recalcStore *recalcdb.Store, factorCache *factorbus.Cache, datasets *datasetbus.Datasets) (func(), error) {
	serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
	if err != nil {
		return nil, err
	}
	clientOptions := append(slices.Clip(caller.Options), connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
	httpClient := caller.HTTP
	// Activity ids come by the million: draw their randomness from a pool
	// rather than a system call each.
	uuid.EnableRandPool()
	worker := process.InstanceName()

	labs := clients.NewLabs(httpClient, cfg.LabsURL, cfg.LabCache, clientOptions...)
	importer := importbus.NewImporter(logger, importdb.NewStore(pool, cfg.Importer.StatementTimeout), clients.NewJobs(httpClient, cfg.IngestURL, clientOptions...),
		labs, factorCache, worker, cfg.Importer)
	recalculator := recalcbus.NewRecalculator(logger, recalcStore, labs, factorCache, cfg.Recalc)

	workers := jobqueue.NewServer(redisOpt, cfg.ImportQueue, cfg.WorkerConcurrency, cfg.Server.ShutdownTimeout, logger)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, logger, importTask, func(taskCtx context.Context, task *ingestv1.ProcessImportTask) error {
		// A process shutting down takes no new job: a job its running
		// import just handed back would otherwise be claimed again by a
		// free slot of the same process, and left RUNNING when it exits.
		// The job stays QUEUED; another worker (or the safety net) takes it.
		if ctx.Err() != nil {
			logger.InfoContext(taskCtx, "shutting down: import left to another worker", "job", task.GetJobId())
			return nil
		}
		// A shutdown stops the import at once and hands the job back
		// (asynq's own context does not end before its shutdown timeout,
		// and then it abandons the handler mid-transaction). A job that
		// could not even be claimed stays queued: ingest's poller hands
		// it out again.
		taskCtx, stopImport := context.WithCancel(taskCtx)
		defer stopImport()
		defer context.AfterFunc(ctx, stopImport)()
		return importer.Process(taskCtx, task.GetJobId())
	})
	jobqueue.Handle(mux, logger, calcqueue.FactorsSyncTask, func(ctx context.Context, task *calcqueue.FactorsSync) error {
		versionID, err := uuid.Parse(task.VersionID)
		if err != nil {
			return fmt.Errorf("factor sync of version %q: %w", task.VersionID, err)
		}
		// A failed sync leaves the version queued; the safety net below
		// queues it again.
		return datasets.Sync(ctx, versionID)
	})
	jobqueue.Handle(mux, logger, calcqueue.EmissionsRecalculateTask, func(ctx context.Context, task *calcqueue.EmissionsRecalculate) error {
		labID, err := uuid.Parse(task.LabID)
		if err != nil {
			return fmt.Errorf("recalculation of lab %q: %w", task.LabID, err)
		}
		// A failed recalculation leaves its ask unanswered in the store;
		// the safety net below queues it again.
		return recalculator.Recalculate(ctx, recalcbus.Target{LabID: labID, Year: task.Year, Kind: task.Kind})
	})
	// The safety net of factor work whose task Redis lost: sync jobs still
	// queued, recalculations asked and not done (deduplicated as always).
	go process.Every(ctx, cfg.FactorPollInterval, true, func(ctx context.Context) {
		if err := datasets.Resume(ctx, cfg.FactorPollBatch); err != nil {
			logger.WarnContext(ctx, "pending factor work not queued", "error", err)
		}
	})
	if err := workers.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	// From the shutdown on, no task is taken off the queue: those running
	// end (an import hands its job back), the others wait for a process
	// that stays.
	context.AfterFunc(ctx, workers.Stop)
	logger.Info("workers started", "worker", worker, "concurrency", cfg.WorkerConcurrency)
	return workers.Shutdown, nil
}
