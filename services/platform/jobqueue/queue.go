package jobqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Queue is one asynq queue on one Redis.
type Queue struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	name      string
}

// New returns the queue name on the Redis of opt. Separate installations
// (and test systems) sharing one Redis use separate names.
func New(opt asynq.RedisClientOpt, name string) *Queue {
	return &Queue{client: asynq.NewClient(opt), inspector: asynq.NewInspector(opt), name: name}
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Close releases the Redis connections.
func (q *Queue) Close() error {
	return errors.Join(q.client.Close(), q.inspector.Close())
}

// Outcome is what Enqueue did.
type Outcome int

const (
	// Queued: a new task was queued (replacing an archived or completed one
	// of the same TaskID, if there was one).
	Queued Outcome = iota + 1
	// Waiting: a task of that TaskID waits to run (pending, scheduled, or
	// waiting for a retry); it was left alone.
	Waiting
	// Running: a task of that TaskID is being run; it was left alone.
	Running
)

func (o Outcome) String() string {
	switch o {
	case Queued:
		return "queued"
	case Waiting:
		return "waiting"
	case Running:
		return "running"
	}
	return "failed"
}

// replaceTries bounds Enqueue when the task of its TaskID keeps changing
// under it (another process replacing it at the same time).
const replaceTries = 3

// Enqueue queues a task of kind with payload under the TaskID id, unless a
// task of that id is waiting or running: then it is left alone, and the
// outcome says which. A task of that id that is archived (its worker died,
// or asynq gave up on it) or completed cannot run again, so it is replaced:
// otherwise a job whose task was archived would never run. The task carries
// ctx's trace; asynq retries are off (options may add others, a delay with
// asynq.ProcessIn for one).
func Enqueue[T any](ctx context.Context, q *Queue, kind Kind[T], id string, payload *T, options ...asynq.Option) (outcome Outcome, err error) {
	// A producer span: the worker's span is its child, in the same trace.
	ctx, span := otel.Tracer(tracerName).Start(ctx, "enqueue "+kind.name, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "asynq"), attribute.String("messaging.destination.name", q.name),
			attribute.String("messaging.message.id", id)))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.SetAttributes(attribute.String("co2.enqueue.outcome", outcome.String()))
		span.End()
	}()
	data, err := kind.encode(payload)
	if err != nil {
		return 0, fmt.Errorf("encode %s task %s: %w", kind.name, id, err)
	}
	task := asynq.NewTaskWithHeaders(kind.name, data, traceHeaders(ctx),
		append([]asynq.Option{asynq.Queue(q.name), asynq.TaskID(id), asynq.MaxRetry(0)}, options...)...)
	for range replaceTries {
		_, err := q.client.EnqueueContext(ctx, task)
		if err == nil {
			return Queued, nil
		}
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return 0, fmt.Errorf("enqueue %s task %s: %w", kind.name, id, err)
		}
		info, err := q.inspector.GetTaskInfo(q.name, id)
		if errors.Is(err, asynq.ErrTaskNotFound) {
			continue // it finished meanwhile: queue it again
		}
		if err != nil {
			return 0, fmt.Errorf("look up %s task %s: %w", kind.name, id, err)
		}
		switch info.State {
		case asynq.TaskStateActive:
			return Running, nil
		case asynq.TaskStateArchived, asynq.TaskStateCompleted:
			if err := q.inspector.DeleteTask(q.name, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return 0, fmt.Errorf("replace %s %s task %s: %w", info.State, kind.name, id, err)
			}
		default:
			return Waiting, nil
		}
	}
	return 0, fmt.Errorf("enqueue %s task %s: its task kept changing under %d tries", kind.name, id, replaceTries)
}

// AttemptID is the TaskID of an attempt at a job whose attempts are
// counted on its row: the job's id for the first, "id#N" after N attempts.
// One attempt is never queued twice at once, while the task a dead worker
// left behind (asynq keeps it active until its own lease lapses) cannot
// hold up the next attempt.
func AttemptID(jobID string, attempts int32) string {
	if attempts == 0 {
		return jobID
	}
	return fmt.Sprintf("%s#%d", jobID, attempts)
}
