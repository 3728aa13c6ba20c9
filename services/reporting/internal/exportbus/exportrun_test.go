package exportbus_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportqueue"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingdb"
)

// exportCalc streams one emission per export, after delay, or fails with
// err while it is set (calc's real stream is tested end to end in
// tools/e2e); the other methods are not used here.
type exportCalc struct {
	reportingbus.Calc
	delay time.Duration
	err   atomic.Pointer[error]
}

func (c *exportCalc) ExportRows(ctx context.Context, labIDs []string, _ int32, fn func([]exportbus.ExportRow) error) error {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := c.err.Load(); err != nil {
		return *err
	}
	return fn([]exportbus.ExportRow{{ActivityID: uuid.NewString(), LabID: labIDs[0], Module: "equipment", Kind: "it",
		Source: "entry", InputsJSON: `{"equipment_name":"Laptop"}`, Scope: 3, KgCO2e: 12.5}})
}

func (c *exportCalc) failWith(err error) { c.err.Store(&err) }

// noGrants: the tests run as an admin, whose role is global.
type noGrants struct{}

func (noGrants) Grants(context.Context, authn.Principal) ([]authz.Grant, error) { return nil, nil }

var adminCtx = authn.WithPrincipal(context.Background(), authn.Principal{Subject: "admin-1", Roles: []string{authn.RoleAdmin}})

// exportSystem is the exports of one reporting process over a database
// and an asynq queue of their own.
type exportSystem struct {
	exports   *exportbus.Exports
	store     *reportingdb.Store
	pool      *pgxpool.Pool
	queue     *exportqueue.Queue
	inspector *asynq.Inspector
	tasks     *jobqueue.Queue
	opt       asynq.RedisClientOpt
	calc      *exportCalc
}

func newExportSystem(t *testing.T, cfg exportbus.ExportsConfig, calc *exportCalc) *exportSystem {
	t.Helper()
	testQueue := jobqueuetest.New(t, "reporting-test")
	tasks, inspector, opt := testQueue.Queue, testQueue.Inspector, testQueue.Redis
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations})
	store := reportingdb.NewStore(pool)
	queue := exportqueue.New(tasks)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reports := reportingbus.NewReports(calc, nil, authz.NewAuthorizer(noGrants{}, authz.Config{}))
	exports := exportbus.NewExports(reports, calc, store, queue, logger, cfg, "worker-"+uuid.NewString()[:8])
	return &exportSystem{exports: exports, store: store, pool: pool, queue: queue, inspector: inspector, tasks: tasks, opt: opt, calc: calc}
}

// startWorkers runs export workers, as the reporting process does, until
// the test ends.
func (s *exportSystem) startWorkers(t *testing.T) {
	t.Helper()
	server := jobqueue.NewServer(s.opt, s.tasks.Name(), 2, time.Second, slog.New(slog.DiscardHandler))
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), exportqueue.Task, func(ctx context.Context, task *exportqueue.ReportExport) error {
		return s.exports.Run(ctx, uuid.MustParse(task.ExportID))
	})
	if err := server.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Shutdown)
}

// runPoller runs the safety net until the test ends.
func (s *exportSystem) runPoller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.exports.RunPoller(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
}

// create stores a queued export, as Create does, without queueing it.
func (s *exportSystem) create(t *testing.T, maxAttempts int32) exportbus.Export {
	t.Helper()
	lab := uuid.New()
	export, err := s.store.CreateExport(context.Background(), exportbus.Export{
		ID: uuid.New(), LabID: lab, Year: 2025, LabIDs: []uuid.UUID{lab}, MaxAttempts: maxAttempts, CreatedBy: "manager",
	})
	if err != nil {
		t.Fatal(err)
	}
	return export
}

// waitFor waits until the export's status is one of statuses.
func (s *exportSystem) waitFor(t *testing.T, export exportbus.Export, timeout time.Duration, statuses ...string) exportbus.Export {
	t.Helper()
	return s.waitUntil(t, export, timeout, func(now exportbus.Export) bool { return slices.Contains(statuses, now.Status) })
}

// waitUntil waits until the export is as ready says.
func (s *exportSystem) waitUntil(t *testing.T, export exportbus.Export, timeout time.Duration, ready func(exportbus.Export) bool) exportbus.Export {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		now, err := s.store.GetExport(context.Background(), export.LabID, export.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ready(now) {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("export still %s at attempt %d after %s (%q)", now.Status, now.Attempts, timeout, now.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var fastPolls = exportbus.ExportsConfig{Attempts: 3, Lease: 300 * time.Millisecond, PollInterval: 100 * time.Millisecond, PollBatch: 10}

// A task asynq archived (say, its attempts spent during a PostgreSQL
// outage) is replaced, and so is a task Redis lost: the queued export is
// written, not left queued forever.
func TestAnExportWhoseTaskWasArchivedOrLostIsWritten(t *testing.T) {
	s := newExportSystem(t, fastPolls, &exportCalc{})
	ctx := context.Background()
	archived, lost := s.create(t, 3), s.create(t, 3)
	if err := s.queue.Enqueue(ctx, archived.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.inspector.ArchiveTask(s.tasks.Name(), archived.ID.String()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(fastPolls.PollInterval)
	if err := s.exports.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, export := range []exportbus.Export{archived, lost} {
		info, err := s.inspector.GetTaskInfo(s.tasks.Name(), export.ID.String())
		if err != nil || info.State != asynq.TaskStatePending {
			t.Fatalf("after the poll, the task of %s: %v %v, want pending", export.ID, info, err)
		}
	}
	s.startWorkers(t)
	for _, export := range []exportbus.Export{archived, lost} {
		if done := s.waitFor(t, export, 10*time.Second, exportbus.ExportDone, exportbus.ExportFailed); done.Status != exportbus.ExportDone || done.Rows != 1 || done.Attempts != 1 {
			t.Fatalf("export %+v", done)
		}
	}
}

// A worker killed while it wrote (its lease no longer renewed, its task
// gone with it) leaves the export running; the safety net hands it to the
// next attempt, which writes it.
func TestAKilledWorkersExportIsRetriedAndWritten(t *testing.T) {
	s := newExportSystem(t, fastPolls, &exportCalc{})
	export := s.create(t, 3)
	if _, found, err := s.store.ClaimExport(context.Background(), export.ID, "killed-worker", fastPolls.Lease); !found || err != nil {
		t.Fatalf("claim: %v %v", found, err)
	}
	s.startWorkers(t)
	s.runPoller(t)
	done := s.waitFor(t, export, 10*time.Second, exportbus.ExportDone, exportbus.ExportFailed)
	if done.Status != exportbus.ExportDone || done.Attempts != 2 || done.Rows != 1 {
		t.Fatalf("export %+v, want done at the second attempt", done)
	}
}

// A worker renews its lease while it writes: an export that takes several
// leases is written once, by its first attempt, with the poller running.
func TestALongExportKeepsItsLease(t *testing.T) {
	s := newExportSystem(t, fastPolls, &exportCalc{delay: 4 * fastPolls.Lease})
	export := s.create(t, 3)
	if err := s.queue.Enqueue(context.Background(), export.ID, 0); err != nil {
		t.Fatal(err)
	}
	s.startWorkers(t)
	s.runPoller(t)
	done := s.waitFor(t, export, 10*time.Second, exportbus.ExportDone, exportbus.ExportFailed)
	if done.Status != exportbus.ExportDone || done.Attempts != 1 {
		t.Fatalf("export %+v, want done at the first attempt", done)
	}
}

// Each failed attempt is retried until the attempts are spent; then the
// export fails, saying how many attempts were made and why the last one
// failed.
func TestAnExportOutOfAttemptsFailsSayingWhy(t *testing.T) {
	calc := &exportCalc{}
	calc.failWith(errors.New("calc unavailable: connection refused"))
	s := newExportSystem(t, fastPolls, calc)
	export := s.create(t, 2)
	if err := s.queue.Enqueue(context.Background(), export.ID, 0); err != nil {
		t.Fatal(err)
	}
	s.startWorkers(t)
	// The first attempt's failure is said while the export waits for the
	// next (the poller is not running yet).
	retrying := s.waitUntil(t, export, 10*time.Second, func(now exportbus.Export) bool {
		return now.Attempts == 1 && now.Status != exportbus.ExportRunning
	})
	if want := "attempt 1 of 2 failed: calc unavailable: connection refused; retrying"; retrying.Status != exportbus.ExportQueued || retrying.Error != want {
		t.Fatalf("after the first attempt: %+v, want queued saying %q", retrying, want)
	}
	s.runPoller(t)
	failed := s.waitFor(t, export, 10*time.Second, exportbus.ExportFailed, exportbus.ExportDone)
	if failed.Status != exportbus.ExportFailed || failed.Attempts != 2 || failed.FinishedAt == nil ||
		failed.Error != "failed after 2 attempts: calc unavailable: connection refused" {
		t.Fatalf("export %+v, want failed after 2 attempts saying why", failed)
	}
}

// Workers that die holding the export each time spend its attempts too:
// the safety net fails it, saying so.
func TestAnExportWhoseWorkersKeepDyingFails(t *testing.T) {
	s := newExportSystem(t, fastPolls, &exportCalc{})
	ctx := context.Background()
	export := s.create(t, 2)
	for attempt, worker := range []string{"killed-1", "killed-2"} {
		if _, found, err := s.store.ClaimExport(ctx, export.ID, worker, time.Millisecond); !found || err != nil {
			t.Fatalf("claim %d: %v %v", attempt+1, found, err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := s.exports.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	failed := s.waitFor(t, export, time.Second, exportbus.ExportFailed)
	if want := "gave up after 2 attempts: the last worker (killed-2) stopped renewing its lease"; failed.Attempts != 2 || !strings.HasPrefix(failed.Error, want) {
		t.Fatalf("export %+v, want failed: %q", failed, want)
	}
}
