package calcqueue_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
)

// A recalculation asked for while the target's task runs queues exactly one
// follow-up behind it; more asks add nothing.
func TestAskingWhileARecalculationRunsQueuesOneFollowUp(t *testing.T) {
	tasks := jobqueuetest.New(t, "calcqueue-test")
	name, opt, inspector := tasks.Name(), tasks.Redis, tasks.Inspector
	queue := calcqueue.New(tasks.Queue, calcqueue.Config{RecalcDelay: 0})
	target := recalcbus.Target{LabID: uuid.New(), Year: 2025, Kind: "equipment"}
	ctx := context.Background()

	// A worker that holds the first task until told to finish.
	started, release := make(chan string, 4), make(chan struct{})
	server := asynq.NewServer(opt, asynq.Config{Concurrency: 1, Queues: map[string]int{name: 1}, LogLevel: asynq.FatalLevel, TaskCheckInterval: 50 * time.Millisecond})
	mux := asynq.NewServeMux()
	mux.HandleFunc(calcqueue.EmissionsRecalculateTask.Name(), func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		started <- id
		<-release
		return nil
	})
	if err := server.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Shutdown)

	if err := queue.EnqueueRecalculation(ctx, target); err != nil {
		t.Fatal(err)
	}
	first := calcqueue.RecalcTaskID(target.LabID.String(), 2025, "equipment", false)
	select {
	case id := <-started:
		if id != first {
			t.Fatalf("first task %q, want %q", id, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the task never started")
	}
	for range 3 {
		if err := queue.EnqueueRecalculation(ctx, target); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := inspector.ListPendingTasks(name)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range pending {
		ids = append(ids, task.ID)
	}
	sort.Strings(ids)
	if followUp := calcqueue.RecalcTaskID(target.LabID.String(), 2025, "equipment", true); len(ids) != 1 || ids[0] != followUp {
		t.Fatalf("waiting behind the running task: %v, want only %s", ids, followUp)
	}
	close(release)
}
