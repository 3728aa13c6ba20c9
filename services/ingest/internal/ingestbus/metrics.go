package ingestbus

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Who ended an import, the ended_by label of ingest.imports: its worker
// (counted where workers report), a cancellation before any worker took
// it, or the safety net giving up on a worker that stopped answering.
const (
	EndedByWorker    = "worker"
	EndedByCancel    = "cancel"
	EndedBySafetyNet = "safety_net"
)

// ImportsCounter is ingest.imports, the imports that ended, by kind, result
// and who ended them (the SDK gives every caller the one instrument).
func ImportsCounter() metric.Int64Counter {
	// A failure leaves a no-op instrument (the SDK logs it), never nil.
	imports, _ := otel.Meter("co2-calculator/ingest").Int64Counter("ingest.imports", metric.WithUnit("{import}"),
		metric.WithDescription("Imports finished, by kind, result (SUCCESS, WARNING, ERROR) and who ended them (worker, cancel, safety_net)"))
	return imports
}

// ImportEnded counts an import that ended.
func ImportEnded(ctx context.Context, imports metric.Int64Counter, kind, result, endedBy string) {
	imports.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", strings.ToLower(kind)), attribute.String("result", result),
		attribute.String("ended_by", endedBy)))
}
