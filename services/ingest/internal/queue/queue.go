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
	client *asynq.Client
	name   string
}

// New returns the queue name on the Redis of opt.
func New(opt asynq.RedisClientOpt, name string) *Queue {
	return &Queue{client: asynq.NewClient(opt), name: name}
}

// Close releases the Redis connection.
func (q *Queue) Close() error { return q.client.Close() }

// Enqueue queues job; a task already there for it is left alone.
func (q *Queue) Enqueue(ctx context.Context, jobID uuid.UUID) error {
	task, err := tasks.NewImportProcess(ctx, q.name, jobID.String())
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
