package reportingdb

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
)

func newExport(t *testing.T, store *Store, maxAttempts int32) exportbus.Export {
	t.Helper()
	lab := uuid.New()
	export, err := store.CreateExport(context.Background(), exportbus.Export{
		ID: uuid.New(), LabID: lab, Year: 2025, LabIDs: []uuid.UUID{lab}, MaxAttempts: maxAttempts, CreatedBy: "manager",
	})
	if err != nil || export.Status != exportbus.ExportQueued || export.MaxAttempts != maxAttempts {
		t.Fatalf("create: %+v %v", export, err)
	}
	return export
}

func TestExportZIPsAreStoredInChunksAndReadBack(t *testing.T) {
	ctx := context.Background()
	store := NewStore(pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations}))
	export := newExport(t, store, 3)
	if _, err := store.GetExport(ctx, uuid.New(), export.ID); !errors.Is(err, exportbus.ErrExportNotFound) {
		t.Fatalf("another lab's export: %v", err)
	}

	// A failed attempt leaves nothing behind; the next one writes 2.5 chunks.
	if _, found, err := store.ClaimExport(ctx, export.ID, "w1", time.Minute); !found || err != nil {
		t.Fatalf("claim: %v %v", found, err)
	}
	boom := errors.New("calc went away")
	err := store.WriteExport(ctx, export.ID, "w1", func(w io.Writer) (int64, error) {
		_, _ = w.Write(make([]byte, chunkSize+10))
		return 0, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	if err := store.ReleaseExport(ctx, export.ID, "w1", "attempt 1 of 3 failed: calc went away; retrying"); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, chunkSize*5/2)
	_, _ = rand.Read(data)
	if _, found, err := store.ClaimExport(ctx, export.ID, "w2", time.Minute); !found || err != nil {
		t.Fatalf("claim again: %v %v", found, err)
	}
	err = store.WriteExport(ctx, export.ID, "w2", func(w io.Writer) (int64, error) {
		for part := range bytes.SplitSeq(data, []byte{0}) { // writes of every size
			if _, err := w.Write(part); err != nil {
				return 0, err
			}
			if _, err := w.Write([]byte{0}); err != nil {
				return 0, err
			}
		}
		return 42, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done, err := store.GetExport(ctx, export.LabID, export.ID)
	if err != nil || done.Status != exportbus.ExportDone || done.Rows != 42 || done.SizeBytes != int64(len(data))+1 ||
		done.FinishedAt == nil || done.Attempts != 2 || done.Error != "" || done.LockedBy != "" {
		t.Fatalf("done: %+v %v", done, err)
	}
	var read bytes.Buffer
	chunks := 0
	if err := store.ReadExport(ctx, export.ID, func(chunk []byte) error { chunks++; read.Write(chunk); return nil }); err != nil {
		t.Fatal(err)
	}
	if chunks != 3 || !bytes.Equal(read.Bytes(), append(data, 0)) {
		t.Fatalf("read %d chunks, %d bytes; want 3 and the %d written", chunks, read.Len(), len(data)+1)
	}
	if _, found, err := store.ClaimExport(ctx, export.ID, "w3", time.Minute); found || err != nil {
		t.Fatalf("a done export claimed again: %v %v", found, err)
	}
}

// A worker whose lease went to another keeps nothing: it can neither renew
// nor finish, and its ZIP is rolled back.
func TestAnExportIsWrittenOnlyByTheWorkerHoldingItsLease(t *testing.T) {
	ctx := context.Background()
	store := NewStore(pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations}))
	export := newExport(t, store, 3)
	if _, found, err := store.ClaimExport(ctx, export.ID, "slow", 50*time.Millisecond); !found || err != nil {
		t.Fatalf("claim: %v %v", found, err)
	}
	if _, found, _ := store.ClaimExport(ctx, export.ID, "other", time.Minute); found {
		t.Fatal("claimed while another worker's lease runs")
	}
	time.Sleep(100 * time.Millisecond)
	claimed, found, err := store.ClaimExport(ctx, export.ID, "other", time.Minute)
	if !found || err != nil || claimed.Attempts != 2 || claimed.LockedBy != "other" {
		t.Fatalf("claim after the lease expired: %+v %v %v", claimed, found, err)
	}
	if err := store.RenewExportLease(ctx, export.ID, "slow", time.Minute); !errors.Is(err, exportbus.ErrLeaseLost) {
		t.Fatalf("renewal by the worker that lost the lease: %v", err)
	}
	err = store.WriteExport(ctx, export.ID, "slow", func(w io.Writer) (int64, error) {
		_, err := w.Write([]byte("stale"))
		return 1, err
	})
	if !errors.Is(err, exportbus.ErrLeaseLost) {
		t.Fatalf("write by the worker that lost the lease: %v", err)
	}
	if err := store.FailExport(ctx, export.ID, "slow", "boom"); !errors.Is(err, exportbus.ErrLeaseLost) {
		t.Fatalf("fail by the worker that lost the lease: %v", err)
	}
	if err := store.RenewExportLease(ctx, export.ID, "other", time.Minute); err != nil {
		t.Fatalf("renewal by the holder: %v", err)
	}
	now, _ := store.GetExport(ctx, export.LabID, export.ID)
	if now.Status != exportbus.ExportRunning || now.LockedBy != "other" || now.SizeBytes != 0 {
		t.Fatalf("after the stale worker: %+v", now)
	}
	if err := store.ReadExport(ctx, export.ID, func([]byte) error { return errors.New("a chunk was kept") }); err != nil {
		t.Fatal(err)
	}
}

// The safety net's questions: queued exports not queued again for a while,
// running exports whose lease ended.
func TestThePollerFindsQueuedAndExpiredExports(t *testing.T) {
	ctx := context.Background()
	store := NewStore(pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations}))
	queued := newExport(t, store, 3)
	running := newExport(t, store, 3)
	expired := newExport(t, store, 3)
	for id, lease := range map[uuid.UUID]time.Duration{running.ID: time.Minute, expired.ID: time.Millisecond} {
		if _, found, err := store.ClaimExport(ctx, id, "w", lease); !found || err != nil {
			t.Fatal(found, err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	err := store.InPollTx(ctx, func(tx exportbus.ExportPollTx) error {
		if due, err := tx.QueuedExportsDue(ctx, time.Hour, 10); err != nil || len(due) != 0 {
			t.Errorf("queued an hour ago: %v %v", due, err)
		}
		due, err := tx.QueuedExportsDue(ctx, 0, 10)
		if err != nil || len(due) != 1 || due[0].ID != queued.ID {
			t.Errorf("queued: %v %v, want %s", due, err, queued.ID)
		}
		if err := tx.TouchQueuedExports(ctx, []uuid.UUID{queued.ID}); err != nil {
			return err
		}
		leases, err := tx.ExpiredExportLeases(ctx, 10)
		if err != nil || len(leases) != 1 || leases[0].ID != expired.ID || leases[0].Attempts != 1 || leases[0].MaxAttempts != 3 || leases[0].LockedBy != "w" {
			t.Errorf("expired: %+v %v, want %s", leases, err, expired.ID)
		}
		return tx.RequeueExpiredExport(ctx, expired.ID, "retrying")
	})
	if err != nil {
		t.Fatal(err)
	}
	requeued, _ := store.GetExport(ctx, expired.LabID, expired.ID)
	if requeued.Status != exportbus.ExportQueued || requeued.LockedBy != "" || requeued.Error != "retrying" {
		t.Fatalf("requeued: %+v", requeued)
	}
}

// A download under way when the retention deletes the ZIP ends in
// ErrExportExpired, not in a shorter file; the next one is refused at once.
func TestADownloadCutByTheSweepEndsInAnError(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations})
	store := NewStore(pool)
	export := newExport(t, store, 3)
	if _, found, err := store.ClaimExport(ctx, export.ID, "w", time.Minute); !found || err != nil {
		t.Fatal(found, err)
	}
	data := make([]byte, chunkSize*3)
	_, _ = rand.Read(data)
	if err := store.WriteExport(ctx, export.ID, "w", func(w io.Writer) (int64, error) { _, err := w.Write(data); return 1, err }); err != nil {
		t.Fatal(err)
	}
	var read bytes.Buffer
	err := store.ReadExport(ctx, export.ID, func(chunk []byte) error {
		if read.Len() == 0 {
			expired, err := store.ExpireExports(ctx, 0, 10)
			if err != nil || len(expired) != 1 {
				t.Fatalf("sweep during the download: %v %v", expired, err)
			}
		}
		read.Write(chunk)
		return nil
	})
	if !errors.Is(err, exportbus.ErrExportExpired) || read.Len() != chunkSize {
		t.Fatalf("the download under way read %d bytes of %d and ended with %v, want ErrExportExpired after the first chunk", read.Len(), len(data), err)
	}
	if err := store.ReadExport(ctx, export.ID, func([]byte) error { return nil }); !errors.Is(err, exportbus.ErrExportExpired) {
		t.Fatalf("a download after the sweep: %v, want ErrExportExpired", err)
	}
}
