package workerbus

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
)

// importMetrics count imports finished by workers, by kind and result: how
// many (ingest.imports, which also counts those ended by a cancellation or
// the safety net), their rows (imported, rejected) and how long each took
// from its upload to its end. Kinds and results are a closed set: the labels stay few.
type importMetrics struct {
	imports  metric.Int64Counter
	rows     metric.Int64Counter
	duration metric.Float64Histogram
}

func newImportMetrics() importMetrics {
	meter := otel.Meter("co2-calculator/ingest")
	// The instruments are created once at start; a failure leaves a no-op
	// instrument (the SDK logs it), never a nil one.
	imports := ingestbus.ImportsCounter()
	rows, _ := meter.Int64Counter("ingest.import.rows", metric.WithUnit("{row}"),
		metric.WithDescription("Rows of finished imports, by kind and outcome (imported, rejected)"))
	duration, _ := meter.Float64Histogram("ingest.import.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from an import's upload to its end, by kind and result"),
		metric.WithExplicitBucketBoundaries(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
	return importMetrics{imports: imports, rows: rows, duration: duration}
}

// finished records a job that ended with outcome.
func (m importMetrics) finished(ctx context.Context, job ingestbus.Job, outcome ingestbus.Outcome) {
	kind := attribute.String("kind", strings.ToLower(job.Kind))
	result := attribute.String("result", outcome.Result)
	ingestbus.ImportEnded(ctx, m.imports, job.Kind, outcome.Result, ingestbus.EndedByWorker)
	m.rows.Add(ctx, outcome.RowsOK, metric.WithAttributes(kind, attribute.String("outcome", "imported")))
	m.rows.Add(ctx, outcome.RowsRejected, metric.WithAttributes(kind, attribute.String("outcome", "rejected")))
	if job.FinishedAt != nil {
		m.duration.Record(ctx, job.FinishedAt.Sub(job.CreatedAt).Seconds(), metric.WithAttributes(kind, result))
	}
}
