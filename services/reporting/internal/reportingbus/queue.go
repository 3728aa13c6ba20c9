package reportingbus

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// TypeReportExport asks a reporting worker to write an export; its TaskID is
// the export id.
const TypeReportExport = "report:export"

// ReportExportTask is the payload of TypeReportExport.
type ReportExportTask struct {
	ExportID string `json:"export_id"`
}

// Queue enqueues export tasks on asynq.
type Queue struct {
	client   *asynq.Client
	name     string
	attempts int
}

// NewQueue returns the queue name on the Redis of opt; a task is tried
// attempts times.
func NewQueue(opt asynq.RedisClientOpt, name string, attempts int) *Queue {
	return &Queue{client: asynq.NewClient(opt), name: name, attempts: attempts}
}

// Close releases the Redis connection.
func (q *Queue) Close() error { return q.client.Close() }

// Enqueue implements ExportQueue.
func (q *Queue) Enqueue(ctx context.Context, exportID uuid.UUID) error {
	payload, err := json.Marshal(ReportExportTask{ExportID: exportID.String()})
	if err != nil {
		return err
	}
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	task := asynq.NewTaskWithHeaders(TypeReportExport, payload, headers, asynq.TaskID(exportID.String()),
		asynq.Queue(q.name), asynq.MaxRetry(max(q.attempts-1, 0)))
	_, err = q.client.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already queued
	}
	return err
}
