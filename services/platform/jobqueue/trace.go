package jobqueue

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceHeaders carries ctx's trace in a task's headers, so one trace runs
// from the request that queued the work to the worker that does it.
func traceHeaders(ctx context.Context) map[string]string {
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	return headers
}

// joinTrace returns ctx joined to the trace held in a task's headers.
func joinTrace(ctx context.Context, headers map[string]string) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(headers))
}

// TraceParent is ctx's trace as a W3C traceparent, "" outside any trace:
// what a job's row keeps so that work queued again later can link to the
// request that asked for it.
func TraceParent(ctx context.Context) string {
	return traceHeaders(ctx)["traceparent"]
}

// StartLinked starts the root span of work done again for a request made
// earlier (a task the safety net queues again): a trace of its own, linked
// to the request's (traceParent, as TraceParent returned it) when there is
// one.
func StartLinked(ctx context.Context, name, traceParent string) (context.Context, trace.Span) {
	options := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal)}
	if traceParent != "" {
		earlier := trace.SpanContextFromContext(joinTrace(context.Background(), map[string]string{"traceparent": traceParent}))
		if earlier.IsValid() {
			options = append(options, trace.WithLinks(trace.Link{SpanContext: earlier}))
		}
	}
	return otel.Tracer(tracerName).Start(ctx, name, options...)
}
