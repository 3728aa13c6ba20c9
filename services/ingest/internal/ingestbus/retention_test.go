package ingestbus_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestdb"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/queue"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// noGrants: the tests run as an admin, whose role is global.
type noGrants struct{}

func (noGrants) Grants(context.Context, authn.Principal) ([]authz.Grant, error) { return nil, nil }

var adminCtx = authn.WithPrincipal(context.Background(), authn.Principal{Subject: "admin-1", Roles: []string{authn.RoleAdmin}})

// imports is ingest's business over a database and an asynq queue of its
// own (retries queue a task).
func imports(t *testing.T, retention ingestbus.RetentionConfig) (*ingestbus.Business, *ingestdb.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "ingest", Migrations: ingestmigrations.Migrations})
	store := ingestdb.NewStore(pool)
	tasks := jobqueuetest.New(t, "ingest-test")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	business := ingestbus.New(logger, store, authz.NewAuthorizer(noGrants{}, authz.Config{}), nil, nil, queue.New(tasks.Queue),
		ingestbus.Config{MaxAttempts: 3, Lease: time.Minute, ErrorsKept: 10, Retention: retention})
	return business, store, pool
}

// finishedImport stores an import of a two-chunk file that finished with
// a warning (one row rejected) finishedAgo ago.
func finishedImport(t *testing.T, store *ingestdb.Store, pool *pgxpool.Pool, finishedAgo time.Duration) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.New()
	steps := []func() error{
		func() error {
			return store.CreateJob(ctx, ingestbus.Job{ID: id, LabID: uuid.New(), Year: 2025, Kind: "equipment", Module: "equipment",
				Mode: ingestbus.ModeAppend, Filename: "equipment.csv", MaxAttempts: 3, CreatedBy: "manager"})
		},
		func() error { return store.AddFileChunk(ctx, id, 1, []byte("equipment_name,category\n")) },
		func() error { return store.AddFileChunk(ctx, id, 2, []byte("Freezer,scientific\nPC,\n")) },
		func() error { return store.QueueUploadedJob(ctx, id, 44, "sha") },
		func() error { _, err := store.ClaimJob(ctx, id, "worker", time.Minute); return err },
		func() error {
			return store.FinishJob(ctx, id, "worker", ingestbus.Outcome{Result: ingestbus.ResultWarning, StatusMessage: "1 row rejected", RowsTotal: 2, RowsOK: 1, RowsRejected: 1})
		},
		func() error {
			return store.ReplaceRowErrors(ctx, id, []ingestbus.RowError{{Row: 3, Column: "category", Message: "required"}})
		},
		func() error {
			_, err := pool.Exec(ctx, "UPDATE ingest.data_ingestion_jobs SET finished_at = now() - make_interval(secs => $2) WHERE id = $1", id, finishedAgo.Seconds())
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return id
}

func chunksOf(t *testing.T, store *ingestdb.Store, id uuid.UUID) int {
	t.Helper()
	chunks, _, err := store.ReadFileChunks(context.Background(), id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(chunks)
}

// A file kept longer than the retention goes; a newer one stays. The
// import still shows its outcome and rejected rows, and retrying it says
// the file is no longer kept, and why.
func TestAFinishedImportsFileIsDeletedAfterTheRetention(t *testing.T) {
	const days = 24 * time.Hour
	business, store, pool := imports(t, ingestbus.RetentionConfig{FileRetention: 30 * days, Batch: 10})
	old := finishedImport(t, store, pool, 31*days)
	recent := finishedImport(t, store, pool, 29*days)

	if swept, err := business.SweepFiles(adminCtx); err != nil || swept != 1 {
		t.Fatalf("sweep: %d files, %v; want 1", swept, err)
	}
	if n := chunksOf(t, store, old); n != 0 {
		t.Fatalf("the old import keeps %d chunks", n)
	}
	if n := chunksOf(t, store, recent); n != 2 {
		t.Fatalf("the recent import keeps %d chunks, want its 2", n)
	}

	job, err := business.Get(adminCtx, old.String())
	if err != nil || job.State != ingestbus.StateFinished || job.Result != ingestbus.ResultWarning || job.RowsOK != 1 ||
		job.StatusMessage != "1 row rejected" || len(job.FirstErrors) != 1 || job.FirstErrors[0].Column != "category" || job.FileSweptAt == nil {
		t.Fatalf("the swept import shows %+v, %v", job, err)
	}
	_, err = business.Retry(adminCtx, old.String())
	var refused *apperr.Error
	if !errors.As(err, &refused) || refused.Code != connect.CodeFailedPrecondition ||
		!strings.Contains(refused.Message, "no longer kept") || !strings.Contains(refused.Message, "30 days") ||
		!strings.Contains(refused.Message, "IMPORT_FILE_RETENTION") || !strings.Contains(refused.Message, "Upload the file again") {
		t.Fatalf("retrying the swept import: %v", err)
	}
	if retried, err := business.Retry(adminCtx, recent.String()); err != nil || retried.State != ingestbus.StateQueued {
		t.Fatalf("retrying the recent import: %+v %v", retried, err)
	}
}

// A sweep deletes at most a batch of files; the next takes the next ones.
// A retention of 0 keeps every file.
func TestTheSweepIsBoundedAndZeroKeepsForever(t *testing.T) {
	business, store, pool := imports(t, ingestbus.RetentionConfig{FileRetention: time.Hour, Batch: 2})
	for range 3 {
		finishedImport(t, store, pool, 2*time.Hour)
	}
	for _, want := range []int{2, 1, 0} {
		if swept, err := business.SweepFiles(adminCtx); err != nil || swept != want {
			t.Fatalf("sweep: %d files, %v; want %d", swept, err, want)
		}
	}

	forever, store, pool := imports(t, ingestbus.RetentionConfig{FileRetention: 0, Batch: 2})
	kept := finishedImport(t, store, pool, 10*365*24*time.Hour)
	if swept, err := forever.SweepFiles(adminCtx); err != nil || swept != 0 || chunksOf(t, store, kept) != 2 {
		t.Fatalf("with no retention: %d swept, %v", swept, err)
	}
}
