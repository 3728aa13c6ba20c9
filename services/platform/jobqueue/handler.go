package jobqueue

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const tracerName = "co2-calculator/jobqueue"

// Handle registers fn as the worker of kind's tasks on mux. Each task gets
// a span (named by its type) in the trace it was queued in; its payload is
// decoded (a malformed one is dropped with a log line: running it again
// would fail again); fn's error is logged and recorded on the span. The
// handler never asks asynq for a retry: a job that must run again is
// queued again by its service, within the attempts its row counts.
func Handle[T any](mux *asynq.ServeMux, logger *slog.Logger, kind Kind[T], fn func(ctx context.Context, payload *T) error) {
	tracer := otel.Tracer(tracerName)
	mux.HandleFunc(kind.name, func(ctx context.Context, task *asynq.Task) error {
		taskID, _ := asynq.GetTaskID(ctx)
		queue, _ := asynq.GetQueueName(ctx)
		ctx, span := tracer.Start(joinTrace(ctx, task.Headers()), kind.name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("messaging.system", "asynq"), attribute.String("messaging.destination.name", queue),
				attribute.String("messaging.message.id", taskID)))
		defer span.End()
		log := logger.With("task", kind.name, "task_id", taskID)
		payload := new(T)
		if err := kind.decode(task.Payload(), payload); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "malformed payload")
			log.ErrorContext(ctx, "malformed task dropped", "error", err, "payload", string(task.Payload()[:min(len(task.Payload()), 200)]))
			return nil
		}
		started := time.Now()
		log.DebugContext(ctx, "task started")
		if err := fn(ctx, payload); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			log.ErrorContext(ctx, "task failed", "error", err, "took", time.Since(started).String())
			return nil
		}
		log.DebugContext(ctx, "task done", "took", time.Since(started).String())
		return nil
	})
}
