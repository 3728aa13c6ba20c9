// Package queue wakes calc workers up through asynq: one import:process
// task per job, its TaskID the job id.
package queue

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/platform/tasks"
)

// Queue enqueues import tasks.
type Queue struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	name      string
}

// New returns the queue name on the Redis of opt.
func New(opt asynq.RedisClientOpt, name string) *Queue {
	return &Queue{client: asynq.NewClient(opt), inspector: asynq.NewInspector(opt), name: name}
}

// Close releases the Redis connections.
func (q *Queue) Close() error {
	return errors.Join(q.client.Close(), q.inspector.Close())
}

// Enqueue queues an attempt at a job. A task waiting or running for it is
// left alone; one that is archived or completed (its worker gone) is
// replaced.
func (q *Queue) Enqueue(ctx context.Context, jobID uuid.UUID, attempt int32) error {
	task, err := tasks.NewImportProcess(ctx, q.name, jobID.String(), attempt)
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, task)
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	info, err := q.inspector.GetTaskInfo(q.name, tasks.ImportTaskID(jobID.String(), attempt))
	if err != nil || (info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted) {
		return nil //nolint:nilerr // the task is there, or went away meanwhile: the next poll looks again
	}
	if err := q.inspector.DeleteTask(q.name, info.ID); err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, task)
	return err
}
