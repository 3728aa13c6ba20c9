package exportbus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
)

// doneExport stores an export written finishedAgo ago.
func (s *exportSystem) doneExport(t *testing.T, finishedAgo time.Duration) exportbus.Export {
	t.Helper()
	export := s.create(t, 3)
	if err := s.exports.Run(context.Background(), export.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(context.Background(), "UPDATE reporting.exports SET finished_at = now() - make_interval(secs => $2) WHERE id = $1",
		export.ID, finishedAgo.Seconds()); err != nil {
		t.Fatal(err)
	}
	return export
}

func (s *exportSystem) download(export exportbus.Export) (int, error) {
	size := 0
	err := s.exports.Download(adminCtx, export.LabID.String(), export.ID.String(), func(chunk []byte) error {
		size += len(chunk)
		return nil
	})
	return size, err
}

// A ZIP kept longer than the retention goes, a newer one stays. The export
// says it expired, and its download says why it is refused.
func TestADoneExportsZIPIsDeletedAfterTheRetention(t *testing.T) {
	const days = 24 * time.Hour
	cfg := fastPolls
	cfg.Retention, cfg.RetentionBatch = 7*days, 10
	s := newExportSystem(t, cfg, &exportCalc{})
	old, recent := s.doneExport(t, 8*days), s.doneExport(t, 6*days)

	if swept, err := s.exports.SweepExports(context.Background()); err != nil || swept != 1 {
		t.Fatalf("sweep: %d ZIPs, %v; want 1", swept, err)
	}
	expired, err := s.exports.Get(adminCtx, old.LabID.String(), old.ID.String())
	if err != nil || expired.Status != exportbus.ExportExpired || expired.Rows != 1 || expired.ExpiresAt == nil || expired.ExpiresAt.After(time.Now()) {
		t.Fatalf("the old export: %+v %v, want expired a day ago", expired, err)
	}
	_, err = s.download(old)
	var refused *apperr.Error
	if !errors.As(err, &refused) || refused.Code != connect.CodeFailedPrecondition || !strings.Contains(refused.Message, "has expired") ||
		!strings.Contains(refused.Message, "7 days (EXPORT_RETENTION)") || !strings.Contains(refused.Message, "Create a new export") {
		t.Fatalf("downloading the expired export: %v", err)
	}
	if got, _ := s.store.GetExport(context.Background(), old.LabID, old.ID); got.SizeBytes == 0 {
		t.Fatal("the expired export forgot its size")
	}
	if n := s.chunks(t, old); n != 0 {
		t.Fatalf("the expired export keeps %d chunks", n)
	}

	kept, err := s.exports.Get(adminCtx, recent.LabID.String(), recent.ID.String())
	if err != nil || kept.Status != exportbus.ExportDone || kept.ExpiresAt == nil || !kept.ExpiresAt.After(time.Now()) {
		t.Fatalf("the recent export: %+v %v, want done and expiring tomorrow", kept, err)
	}
	if size, err := s.download(recent); err != nil || size == 0 || int64(size) != kept.SizeBytes {
		t.Fatalf("downloading the recent export: %d bytes, %v", size, err)
	}
}

// A sweep deletes at most a batch of ZIPs; a retention of 0 keeps them all.
func TestTheExportSweepIsBoundedAndZeroKeepsForever(t *testing.T) {
	cfg := fastPolls
	cfg.Retention, cfg.RetentionBatch = time.Hour, 2
	s := newExportSystem(t, cfg, &exportCalc{})
	for range 3 {
		s.doneExport(t, 2*time.Hour)
	}
	for _, want := range []int{2, 1, 0} {
		if swept, err := s.exports.SweepExports(context.Background()); err != nil || swept != want {
			t.Fatalf("sweep: %d ZIPs, %v; want %d", swept, err, want)
		}
	}

	cfg.Retention = 0
	forever := newExportSystem(t, cfg, &exportCalc{})
	export := forever.doneExport(t, 10*365*24*time.Hour)
	if swept, err := forever.exports.SweepExports(context.Background()); err != nil || swept != 0 {
		t.Fatalf("with no retention: %d swept, %v", swept, err)
	}
	if kept, err := forever.exports.Get(adminCtx, export.LabID.String(), export.ID.String()); err != nil || kept.Status != exportbus.ExportDone || kept.ExpiresAt != nil {
		t.Fatalf("with no retention: %+v %v, want done, never expiring", kept, err)
	}
}

func (s *exportSystem) chunks(t *testing.T, export exportbus.Export) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM reporting.export_chunks WHERE export_id = $1", export.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
