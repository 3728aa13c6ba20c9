package tests

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// The factor work's safety net: a sync whose task asynq archived and
// recalculations whose tasks Redis lost are queued again, a batch at a
// time, the oldest first.
func TestLostFactorWorkIsQueuedAgainABatchAtATime(t *testing.T) {
	ctx := adminCtx
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := newStores(t)
	cache := factorbus.NewCache(store.factors)
	if err := cache.LoadDefault(ctx); err != nil {
		t.Fatal(err)
	}
	authorizer := authz.NewAuthorizer(noGrants{}, authz.Config{})
	labs := countries{uuid.New(): "CH", uuid.New(): "CH"}
	entries := entrybus.NewEntries(store.entries, authorizer, labs, cache)
	for lab := range labs {
		if _, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
			"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "350",
		}); err != nil {
			t.Fatal(err)
		}
	}
	tasks := jobqueuetest.New(t, "calc-test")
	inspector := tasks.Inspector
	queue := calcqueue.New(tasks.Queue, calcqueue.Config{RecalcDelay: time.Hour})
	datasets := datasetbus.NewDatasets(logger, store.datasets, authorizer, queue, recalcbus.NewAsks(logger, store.recalc, queue), cache,
		datasetbus.Config{MaxUploadBytes: 1 << 20})
	upload := func(version string) uuid.UUID {
		file := []byte(header + "grid," + version + ",electricity,electricity_grid,location,CH,2025,0.15,kWh,test figure,CC0,AR6,life_cycle,,10\n")
		created, err := datasets.Upload(ctx, "grid", version, "", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		return created.ID
	}
	if err := datasets.Sync(ctx, upload("2")); err != nil {
		t.Fatal(err)
	}
	if _, err := inspector.DeleteAllPendingTasks(tasks.Name()); err != nil { // the sync done above
		t.Fatal(err)
	}
	if activated, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false); err != nil || activated.Recalculations != 2 {
		t.Fatalf("activate: %d queued, %v", activated.Recalculations, err)
	}
	waiting := upload("3")

	// Redis loses the recalculations; asynq archives the sync's task.
	if _, err := inspector.DeleteAllScheduledTasks(tasks.Name()); err != nil {
		t.Fatal(err)
	}
	if err := inspector.ArchiveTask(tasks.Name(), waiting.String()); err != nil {
		t.Fatal(err)
	}
	queued := func() (syncs, recalculations []string) {
		t.Helper()
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){inspector.ListPendingTasks, inspector.ListScheduledTasks} {
			infos, err := list(tasks.Name())
			if err != nil {
				t.Fatal(err)
			}
			for _, info := range infos {
				if info.Type == calcqueue.FactorsSyncTask.Name() {
					syncs = append(syncs, info.ID)
				} else {
					recalculations = append(recalculations, info.ID)
				}
			}
		}
		return syncs, recalculations
	}
	if syncs, recalculations := queued(); len(syncs)+len(recalculations) != 0 {
		t.Fatalf("still queued: %v %v", syncs, recalculations)
	}

	if err := datasets.Resume(ctx, 1); err != nil {
		t.Fatal(err)
	}
	syncs, recalculations := queued()
	if !slices.Equal(syncs, []string{waiting.String()}) || len(recalculations) != 1 {
		t.Fatalf("after a look of one: syncs %v, recalculations %v; want the archived sync and one recalculation", syncs, recalculations)
	}
	if err := datasets.Resume(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if syncs, recalculations = queued(); len(syncs) != 1 || len(recalculations) != 2 {
		t.Fatalf("after a look of ten: syncs %v, recalculations %v; want one sync and both recalculations", syncs, recalculations)
	}
}
