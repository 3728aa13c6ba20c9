// Package calcqueue wakes calc workers up through asynq: factors:sync tasks
// (TaskID the dataset version's id) and emissions:recalculate tasks (one
// TaskID per lab/year/kind, so a burst of factor changes queues one).
package calcqueue

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/tasks"
)

// Config tunes the recalculation tasks.
type Config struct {
	// RecalcDelay is how long a recalculation waits before it runs: the
	// factor changes of that while make one recalculation per target.
	RecalcDelay time.Duration `env:"RECALC_DELAY, default=2s"`
}

// Queue enqueues calc's own tasks.
type Queue struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	name      string
	cfg       Config
}

var _ calcbus.Queue = (*Queue)(nil)

// New returns the queue name on the Redis of opt.
func New(opt asynq.RedisClientOpt, name string, cfg Config) *Queue {
	return &Queue{client: asynq.NewClient(opt), inspector: asynq.NewInspector(opt), name: name, cfg: cfg}
}

// Close releases the Redis connections.
func (q *Queue) Close() error {
	return errors.Join(q.client.Close(), q.inspector.Close())
}

// EnqueueFactorsSync queues a version's sync job (once).
func (q *Queue) EnqueueFactorsSync(ctx context.Context, versionID uuid.UUID) error {
	task, err := tasks.NewFactorsSync(ctx, q.name, versionID.String())
	if err != nil {
		return err
	}
	return q.enqueue(ctx, task, versionID.String())
}

// EnqueueRecalculation queues a target's recalculation. A task of the
// target waiting to run answers this ask too; one running may have read
// the asks already, so a single follow-up task is queued behind it.
func (q *Queue) EnqueueRecalculation(ctx context.Context, target calcbus.RecalcTarget) error {
	payload := tasks.EmissionsRecalculate{LabID: target.LabID.String(), Year: target.Year, Kind: target.Kind}
	task, err := tasks.NewEmissionsRecalculate(ctx, q.name, payload, false, q.cfg.RecalcDelay)
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, task)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	id := tasks.RecalcTaskID(payload.LabID, payload.Year, payload.Kind, false)
	info, err := q.inspector.GetTaskInfo(q.name, id)
	switch {
	case err != nil:
		return nil //nolint:nilerr // gone meanwhile: it ran, after the ask was recorded
	case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
		if err := q.inspector.DeleteTask(q.name, info.ID); err != nil {
			return err
		}
		_, err = q.client.EnqueueContext(ctx, task)
		return err
	case info.State != asynq.TaskStateActive:
		return nil
	}
	followUp, err := tasks.NewEmissionsRecalculate(ctx, q.name, payload, true, q.cfg.RecalcDelay)
	if err != nil {
		return err
	}
	return q.enqueue(ctx, followUp, tasks.RecalcTaskID(payload.LabID, payload.Year, payload.Kind, true))
}

// enqueue queues task unless one with its id waits or runs; an archived or
// completed one is replaced.
func (q *Queue) enqueue(ctx context.Context, task *asynq.Task, id string) error {
	_, err := q.client.EnqueueContext(ctx, task)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	info, err := q.inspector.GetTaskInfo(q.name, id)
	if err != nil || (info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted) {
		return nil //nolint:nilerr // the task is there, or went away meanwhile
	}
	if err := q.inspector.DeleteTask(q.name, info.ID); err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, task)
	return err
}
