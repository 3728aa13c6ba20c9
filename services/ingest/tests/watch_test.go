package tests

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// A member watching an import sees it queued, then each progress the
// worker reports, then its end, after which the stream closes; someone
// outside the lab is told it does not exist; the watches of a process are
// bounded; a watcher that leaves holds nothing.
func TestAWatchFollowsAnImportToItsEnd(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ana := s.users(t, "ana")
	uploaded, err := s.upload(t, ana, "append", file)
	if err != nil {
		t.Fatal(err)
	}
	id := uploaded.GetImport().GetId()

	outsider, err := s.users(t, "bob").WatchImport(ctx, connect.NewRequest(&ingestv1.WatchImportRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	if outsider.Receive() || connect.CodeOf(outsider.Err()) != connect.CodeNotFound {
		t.Fatalf("someone outside the lab watching: %v, want NotFound", outsider.Err())
	}

	watch, err := ana.WatchImport(ctx, connect.NewRequest(&ingestv1.WatchImportRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	next := func(want string) *ingestv1.Import {
		t.Helper()
		if !watch.Receive() {
			t.Fatalf("the watch ended (%v) before %s", watch.Err(), want)
		}
		return watch.Msg().GetImport()
	}
	if got := next("the queued state"); got.GetState() != ingestbus.StateQueued {
		t.Fatalf("first message: %v, want the job queued", got)
	}

	// A second watcher fits; a third is refused until one leaves.
	leaving, leave := context.WithCancel(ctx)
	second, err := ana.WatchImport(leaving, connect.NewRequest(&ingestv1.WatchImportRequest{Id: id}))
	if err != nil || !second.Receive() {
		t.Fatalf("a second watch: %v %v", err, second.Err())
	}
	third, err := ana.WatchImport(ctx, connect.NewRequest(&ingestv1.WatchImportRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	if third.Receive() || connect.CodeOf(third.Err()) != connect.CodeResourceExhausted {
		t.Fatalf("a watch beyond IMPORT_WATCH_MAX: %v, want ResourceExhausted", third.Err())
	}
	leave()
	waitFor(t, func() bool { return s.watchers.Active() == 1 }, "the watcher that left to be gone")

	calc := s.workers(t, "calc-worker", authn.ServiceRole("calc"))
	if _, err := calc.ClaimJob(ctx, connect.NewRequest(&ingestv1.ClaimJobRequest{JobId: id, WorkerId: "w1"})); err != nil {
		t.Fatal(err)
	}
	if got := next("the running state"); got.GetState() != ingestbus.StateRunning {
		t.Fatalf("after the claim: %v, want RUNNING", got)
	}
	for _, rows := range []int64{1, 2} {
		if _, err := calc.ReportProgress(ctx, connect.NewRequest(&ingestv1.ReportProgressRequest{JobId: id, WorkerId: "w1", RowsProcessed: rows})); err != nil {
			t.Fatal(err)
		}
		if got := next("the progress"); got.GetRowsProcessed() != rows {
			t.Fatalf("after reporting %d rows: %v", rows, got)
		}
	}
	if _, err := calc.FinishJob(ctx, connect.NewRequest(&ingestv1.FinishJobRequest{JobId: id, WorkerId: "w1", Result: ingestbus.ResultSuccess,
		StatusMessage: "3 rows imported", RowsTotal: 3, RowsOk: 3})); err != nil {
		t.Fatal(err)
	}
	if got := next("the end"); got.GetState() != ingestbus.StateFinished || got.GetRowsOk() != 3 || got.GetResult() != ingestbus.ResultSuccess {
		t.Fatalf("last message: %v, want the finished job", got)
	}
	if watch.Receive() || watch.Err() != nil {
		t.Fatalf("the watch goes on after the end: %v %v", watch.Msg(), watch.Err())
	}
	waitFor(t, func() bool { return s.watchers.Active() == 0 }, "no watcher left")
}

func waitFor(t *testing.T, condition func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !condition(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}
