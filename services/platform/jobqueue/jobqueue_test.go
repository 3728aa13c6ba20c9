package jobqueue_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"
)

type work struct {
	JobID string `json:"job_id"`
}

var workKind = jobqueue.NewKind[work]("test:work")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testQueue is a queue of its own on the test Redis.
func testQueue(t *testing.T) (*jobqueue.Queue, *asynq.Inspector, asynq.RedisClientOpt) {
	t.Helper()
	queue := jobqueuetest.New(t, "jobqueue-test")
	return queue.Queue, queue.Inspector, queue.Redis
}

// startWorkers runs a server on queue with mux's handlers until the test ends.
func startWorkers(t *testing.T, opt asynq.RedisClientOpt, queue *jobqueue.Queue, mux *asynq.ServeMux) {
	t.Helper()
	server := jobqueue.NewServer(opt, queue.Name(), 1, time.Second, quiet)
	if err := server.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Shutdown)
}

func stateOf(t *testing.T, inspector *asynq.Inspector, queue *jobqueue.Queue, id string) asynq.TaskState {
	t.Helper()
	info, err := inspector.GetTaskInfo(queue.Name(), id)
	if err != nil {
		t.Fatalf("task %s: %v", id, err)
	}
	return info.State
}

func TestAWaitingTaskIsLeftAlone(t *testing.T) {
	queue, inspector, _ := testQueue(t)
	ctx := context.Background()
	if outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}); err != nil || outcome != jobqueue.Queued {
		t.Fatalf("first enqueue: %v %v", outcome, err)
	}
	if outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}); err != nil || outcome != jobqueue.Waiting {
		t.Fatalf("second enqueue: %v %v, want Waiting", outcome, err)
	}
	if outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-2", &work{JobID: "2"}, asynq.ProcessIn(time.Hour)); err != nil || outcome != jobqueue.Queued {
		t.Fatalf("scheduled: %v %v", outcome, err)
	}
	if outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-2", &work{JobID: "2"}); err != nil || outcome != jobqueue.Waiting {
		t.Fatalf("again while scheduled: %v %v, want Waiting", outcome, err)
	}
	pending, err := inspector.ListPendingTasks(queue.Name())
	if err != nil || len(pending) != 1 || pending[0].ID != "job-1" || pending[0].MaxRetry != 0 {
		t.Fatalf("pending: %v %v, want job-1 alone, without asynq retries", pending, err)
	}
}

// An archived task (its worker died, or asynq gave up) can never run
// again: enqueueing its id replaces it, so the job runs.
func TestAnArchivedTaskIsReplaced(t *testing.T) {
	queue, inspector, opt := testQueue(t)
	ctx := context.Background()
	if _, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := inspector.ArchiveTask(queue.Name(), "job-1"); err != nil {
		t.Fatal(err)
	}
	if state := stateOf(t, inspector, queue, "job-1"); state != asynq.TaskStateArchived {
		t.Fatalf("state %v, want archived", state)
	}
	outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"})
	if err != nil || outcome != jobqueue.Queued {
		t.Fatalf("enqueue over the archived task: %v %v, want Queued", outcome, err)
	}
	ran := make(chan string, 1)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, quiet, workKind, func(_ context.Context, w *work) error { ran <- w.JobID; return nil })
	startWorkers(t, opt, queue, mux)
	select {
	case id := <-ran:
		if id != "1" {
			t.Fatalf("ran %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced task never ran")
	}
}

// A completed task kept by asynq (asynq.Retention) is replaced too: the
// job is asked for again after it ran.
func TestACompletedTaskIsReplaced(t *testing.T) {
	queue, inspector, opt := testQueue(t)
	ctx := context.Background()
	ran := make(chan string, 2)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, quiet, workKind, func(_ context.Context, w *work) error { ran <- w.JobID; return nil })
	startWorkers(t, opt, queue, mux)
	for round := range 2 {
		outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}, asynq.Retention(time.Hour))
		if err != nil || outcome != jobqueue.Queued {
			t.Fatalf("round %d: %v %v, want Queued", round, outcome, err)
		}
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the task never ran", round)
		}
		deadline := time.Now().Add(5 * time.Second)
		for stateOf(t, inspector, queue, "job-1") != asynq.TaskStateCompleted {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the task is not kept as completed", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestARunningTaskIsLeftAloneAndSaysSo(t *testing.T) {
	queue, _, opt := testQueue(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, quiet, workKind, func(context.Context, *work) error {
		close(started)
		<-release
		return nil
	})
	startWorkers(t, opt, queue, mux)
	defer close(release)
	if _, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the task never started")
	}
	if outcome, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}); err != nil || outcome != jobqueue.Running {
		t.Fatalf("enqueue while it runs: %v %v, want Running", outcome, err)
	}
}

// recordSpans installs a tracer provider that keeps the spans ended, and
// the W3C propagator, for the test.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previousProvider, previousPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(previousProvider)
		otel.SetTextMapPropagator(previousPropagator)
		_ = provider.Shutdown(context.Background())
	})
	return recorder
}

// waitSpan returns the first span named name once it has ended.
func waitSpan(t *testing.T, recorder *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, span := range recorder.Ended() {
			if span.Name() == name {
				return span
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no span %s", name)
	return nil
}

// A task queued within a trace is worked on within it; a protobuf payload
// arrives whole under its message's name.
func TestAProtoTaskCarriesItsPayloadAndTrace(t *testing.T) {
	recorder := recordSpans(t)
	queue, inspector, opt := testQueue(t)
	kind := jobqueue.ProtoKind[structpb.Struct]()
	if kind.Name() != "google.protobuf.Struct" {
		t.Fatalf("kind named %q", kind.Name())
	}
	ctx, parent := otel.Tracer("test").Start(context.Background(), "request")
	payload, err := structpb.NewStruct(map[string]any{"id": "lab-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobqueue.Enqueue(ctx, queue, kind, "lab-1", payload); err != nil {
		t.Fatal(err)
	}
	parent.End()
	info, err := inspector.GetTaskInfo(queue.Name(), "lab-1")
	if err != nil || string(info.Payload) != `{"id":"lab-1"}` {
		t.Fatalf("payload %s %v, want the message in protobuf JSON", info.Payload, err)
	}

	got := make(chan string, 1)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, quiet, kind, func(_ context.Context, request *structpb.Struct) error {
		got <- request.GetFields()["id"].GetStringValue()
		return nil
	})
	startWorkers(t, opt, queue, mux)
	select {
	case id := <-got:
		if id != "lab-1" {
			t.Fatalf("payload id %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the task never ran")
	}
	// The request queued the task (a producer span, its child), and the
	// worker's span is the producer's child: one trace.
	producer := waitSpan(t, recorder, "enqueue "+kind.Name())
	if producer.Parent().SpanID() != parent.SpanContext().SpanID() || producer.SpanKind() != trace.SpanKindProducer {
		t.Fatalf("the enqueue's span is under %s (%v), want the request's %s", producer.Parent().SpanID(), producer.SpanKind(), parent.SpanContext().SpanID())
	}
	span := waitSpan(t, recorder, kind.Name())
	if span.Parent().TraceID() != parent.SpanContext().TraceID() || span.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Fatalf("the worker's span is in trace %s under %s, want trace %s under the enqueue's %s",
			span.Parent().TraceID(), span.Parent().SpanID(), parent.SpanContext().TraceID(), producer.SpanContext().SpanID())
	}
	if span.Status().Code == codes.Error {
		t.Fatalf("a task that worked is marked failed: %v", span.Status())
	}
}

// A failing job is recorded on its span, and asynq is not asked to retry
// it (the job's own attempts decide); a malformed payload never reaches
// the handler.
func TestFailuresAreRecordedAndNotRetriedByAsynq(t *testing.T) {
	recorder := recordSpans(t)
	queue, inspector, opt := testQueue(t)
	ctx := context.Background()
	calls := make(chan string, 4)
	mux := asynq.NewServeMux()
	jobqueue.Handle(mux, quiet, workKind, func(_ context.Context, w *work) error {
		calls <- w.JobID
		return errors.New("calc is down")
	})
	client := asynq.NewClient(opt)
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask(workKind.Name(), []byte("not json")), asynq.Queue(queue.Name()), asynq.TaskID("bad"), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := jobqueue.Enqueue(ctx, queue, workKind, "job-1", &work{JobID: "1"}, asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	startWorkers(t, opt, queue, mux)
	select {
	case id := <-calls:
		if id != "1" {
			t.Fatalf("handler called with %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the task never ran")
	}
	var failed []sdktrace.ReadOnlySpan
	deadline := time.Now().Add(10 * time.Second)
	for len(failed) < 2 && time.Now().Before(deadline) {
		failed = failed[:0]
		for _, span := range recorder.Ended() {
			if span.Name() == workKind.Name() && span.Status().Code == codes.Error {
				failed = append(failed, span)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(failed) != 2 {
		t.Fatalf("%d failed spans, want the failure and the malformed task", len(failed))
	}
	for _, id := range []string{"job-1", "bad"} {
		deadline := time.Now().Add(5 * time.Second)
		for stateOf(t, inspector, queue, id) != asynq.TaskStateCompleted {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %v, want completed (no asynq retry)", id, stateOf(t, inspector, queue, id))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	select {
	case id := <-calls:
		t.Fatalf("handler called again with %q", id)
	default:
	}
}
