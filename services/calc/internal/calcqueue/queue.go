// Package calcqueue wakes calc workers up through asynq for calc's own
// work: factors:sync tasks (TaskID the dataset version's id) and
// emissions:recalculate tasks (one TaskID per lab/year/kind, so a burst of
// factor changes queues one). Import tasks come from ingest
// (ingestv1.ProcessImportTask).
package calcqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// FactorsSync asks a worker to load an uploaded factor dataset version
// into the factor table.
type FactorsSync struct {
	VersionID string `json:"version_id"`
}

// EmissionsRecalculate asks a worker to recompute one lab/year/kind's
// emissions with the factors now in force for that year.
type EmissionsRecalculate struct {
	LabID string `json:"lab_id"`
	Year  int32  `json:"year"`
	Kind  string `json:"kind"`
}

// The task types of calc's own work.
var (
	FactorsSyncTask          = jobqueue.NewKind[FactorsSync]("factors:sync")
	EmissionsRecalculateTask = jobqueue.NewKind[EmissionsRecalculate]("emissions:recalculate")
)

// RecalcTaskID is the TaskID of a target's recalculation: one waits per
// target however many changes ask for it. followUp names the one task
// queued behind a running one.
func RecalcTaskID(labID string, year int32, kind string, followUp bool) string {
	id := fmt.Sprintf("recalc:%s:%d:%s", labID, year, kind)
	if followUp {
		id += ":next"
	}
	return id
}

// Config tunes the recalculation tasks.
type Config struct {
	// RecalcDelay is how long a recalculation waits before it runs: the
	// factor changes of that while make one recalculation per target.
	RecalcDelay time.Duration `env:"RECALC_DELAY, default=2s"`
}

// Queue enqueues calc's own tasks.
type Queue struct {
	tasks *jobqueue.Queue
	cfg   Config
}

var (
	_ datasetbus.Queue = (*Queue)(nil)
	_ recalcbus.Queue  = (*Queue)(nil)
)

// New returns calc's queue over tasks.
func New(tasks *jobqueue.Queue, cfg Config) *Queue {
	return &Queue{tasks: tasks, cfg: cfg}
}

// EnqueueFactorsSync queues a version's sync job (once).
func (q *Queue) EnqueueFactorsSync(ctx context.Context, versionID uuid.UUID) error {
	_, err := jobqueue.Enqueue(ctx, q.tasks, FactorsSyncTask, versionID.String(), &FactorsSync{VersionID: versionID.String()})
	return err
}

// EnqueueRecalculation queues a target's recalculation, to run after
// RecalcDelay. A task of the target waiting to run answers this ask too;
// one running may have read the asks already, so a single follow-up task
// is queued behind it.
func (q *Queue) EnqueueRecalculation(ctx context.Context, target recalcbus.Target) error {
	payload := &EmissionsRecalculate{LabID: target.LabID.String(), Year: target.Year, Kind: target.Kind}
	outcome, err := jobqueue.Enqueue(ctx, q.tasks, EmissionsRecalculateTask, RecalcTaskID(payload.LabID, payload.Year, payload.Kind, false),
		payload, asynq.ProcessIn(q.cfg.RecalcDelay))
	if err != nil || outcome != jobqueue.Running {
		return err
	}
	_, err = jobqueue.Enqueue(ctx, q.tasks, EmissionsRecalculateTask, RecalcTaskID(payload.LabID, payload.Year, payload.Kind, true),
		payload, asynq.ProcessIn(q.cfg.RecalcDelay))
	return err
}
