package jobqueue_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// The queue's metrics say how many tasks wait and how long the oldest has.
func TestQueueMetricsShowWaitingTasksAndTheirAge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	queue, _, _ := testQueue(t)
	if err := queue.Instrument(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := jobqueue.Enqueue(context.Background(), queue, workKind, id, &work{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // asynq counts waiting time in seconds
	var collected metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &collected); err != nil {
		t.Fatal(err)
	}
	pending, age := int64(-1), -1.0
	for _, scope := range collected.ScopeMetrics {
		for _, m := range scope.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, point := range data.DataPoints {
					if state, _ := point.Attributes.Value("state"); m.Name == "queue.tasks" && state.AsString() == "pending" {
						pending = point.Value
					}
				}
			case metricdata.Gauge[float64]:
				if m.Name == "queue.oldest_pending_age" {
					age = data.DataPoints[0].Value
				}
			}
		}
	}
	if pending != 3 || age < 1 {
		t.Fatalf("3 tasks waiting for over a second: pending %d, oldest age %.1f s", pending, age)
	}
}
