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

	"github.com/co2-calculator/co2-calculator/migrations"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

func TestExportZIPsAreStoredInChunksAndReadBack(t *testing.T) {
	ctx := context.Background()
	store := NewStore(pgtest.NewPool(t, pgtest.Schema{Name: "reporting", Migrations: migrations.Reporting}))
	lab := uuid.New()
	export, err := store.CreateExport(ctx, reportingbus.Export{ID: uuid.New(), LabID: lab, Year: 2025, LabIDs: []uuid.UUID{lab}, CreatedBy: "manager"})
	if err != nil || export.Status != reportingbus.ExportQueued {
		t.Fatalf("create: %v %v", export, err)
	}
	if stale, err := store.StaleQueuedExports(ctx, 0); err != nil || len(stale) != 1 || stale[0] != export.ID {
		t.Fatalf("stale exports: %v %v", stale, err)
	}
	if stale, err := store.StaleQueuedExports(ctx, time.Hour); err != nil || len(stale) != 0 {
		t.Fatalf("exports an hour old: %v %v", stale, err)
	}
	if _, err := store.GetExport(ctx, uuid.New(), export.ID); !errors.Is(err, reportingbus.ErrExportNotFound) {
		t.Fatalf("another lab's export: %v", err)
	}

	// A failed attempt leaves nothing behind; the next one writes 2.5 chunks.
	if _, found, err := store.StartExport(ctx, export.ID); !found || err != nil {
		t.Fatalf("start: %v %v", found, err)
	}
	boom := errors.New("calc went away")
	err = store.WriteExport(ctx, export.ID, func(w io.Writer) (int64, error) {
		_, _ = w.Write(make([]byte, chunkSize+10))
		return 0, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	data := make([]byte, chunkSize*5/2)
	_, _ = rand.Read(data)
	if _, found, err := store.StartExport(ctx, export.ID); !found || err != nil {
		t.Fatalf("restart: %v %v", found, err)
	}
	err = store.WriteExport(ctx, export.ID, func(w io.Writer) (int64, error) {
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
	done, err := store.GetExport(ctx, lab, export.ID)
	if err != nil || done.Status != reportingbus.ExportDone || done.Rows != 42 || done.SizeBytes != int64(len(data))+1 || done.FinishedAt == nil || done.Attempts != 2 {
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
	if _, found, err := store.StartExport(ctx, export.ID); found || err != nil {
		t.Fatalf("a done export started again: %v %v", found, err)
	}
	if stale, err := store.StaleQueuedExports(ctx, 0); err != nil || len(stale) != 0 {
		t.Fatalf("a done export is stale: %v %v", stale, err)
	}
}
