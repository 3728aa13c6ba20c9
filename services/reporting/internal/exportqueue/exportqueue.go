// Package exportqueue wakes reporting's export workers up through asynq:
// one report:export task per attempt at an export.
package exportqueue

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
)

// ReportExport asks a worker to write an export.
type ReportExport struct {
	ExportID string `json:"export_id"`
}

// Task is the task type of exports.
var Task = jobqueue.NewKind[ReportExport]("report:export")

// Queue enqueues export tasks.
type Queue struct {
	tasks *jobqueue.Queue
}

var _ exportbus.ExportQueue = (*Queue)(nil)

// New returns the export queue over tasks.
func New(tasks *jobqueue.Queue) *Queue { return &Queue{tasks: tasks} }

// Enqueue queues an attempt at an export (attempts counts those made): a
// task waiting or running for it is left alone, one archived or completed
// is replaced.
func (q *Queue) Enqueue(ctx context.Context, exportID uuid.UUID, attempts int32) error {
	_, err := jobqueue.Enqueue(ctx, q.tasks, Task, jobqueue.AttemptID(exportID.String(), attempts), &ReportExport{ExportID: exportID.String()})
	return err
}
