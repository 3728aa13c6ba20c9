// Package queue wakes calc workers up through asynq: one task per attempt
// at an import job (the contract with calc is ingest's ProcessImportTask
// message).
package queue

import (
	"context"

	"github.com/google/uuid"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// importTask is the task calc's workers take.
var importTask = jobqueue.ProtoKind[ingestv1.ProcessImportTask]()

// Queue enqueues import tasks.
type Queue struct {
	tasks *jobqueue.Queue
}

var _ ingestbus.Queue = (*Queue)(nil)

// New returns the import queue over tasks.
func New(tasks *jobqueue.Queue) *Queue { return &Queue{tasks: tasks} }

// Enqueue queues an attempt at a job (attempt counts the attempts made):
// a task waiting or running for it is left alone, one archived or
// completed (its worker gone) is replaced.
func (q *Queue) Enqueue(ctx context.Context, jobID uuid.UUID, attempt int32) error {
	_, err := jobqueue.Enqueue(ctx, q.tasks, importTask, jobqueue.AttemptID(jobID.String(), attempt), &ingestv1.ProcessImportTask{JobId: jobID.String()})
	return err
}
