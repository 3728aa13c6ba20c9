package jobqueue

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument reports the queue's state with every collection of metrics:
// its tasks by state, and how long the oldest waiting task has waited (a
// queue that grows or ages has too few workers, or none).
func (q *Queue) Instrument() error {
	meter := otel.Meter("co2-calculator/jobqueue")
	tasks, err := meter.Int64ObservableGauge("queue.tasks",
		metric.WithDescription("Tasks in the queue, by state (pending, active, scheduled, retry, archived)"), metric.WithUnit("{task}"))
	if err != nil {
		return fmt.Errorf("queue metrics: %w", err)
	}
	age, err := meter.Float64ObservableGauge("queue.oldest_pending_age",
		metric.WithDescription("How long the oldest pending task has waited"), metric.WithUnit("s"))
	if err != nil {
		return fmt.Errorf("queue metrics: %w", err)
	}
	queue := attribute.String("queue", q.name)
	_, err = meter.RegisterCallback(func(_ context.Context, observer metric.Observer) error {
		info, err := q.inspector.GetQueueInfo(q.name)
		if err != nil {
			return nil //nolint:nilerr // an empty queue not yet created, or Redis away: no figures this time
		}
		for state, count := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled, "retry": info.Retry, "archived": info.Archived,
		} {
			observer.ObserveInt64(tasks, int64(count), metric.WithAttributes(queue, attribute.String("state", state)))
		}
		observer.ObserveFloat64(age, info.Latency.Seconds(), metric.WithAttributes(queue))
		return nil
	}, tasks, age)
	if err != nil {
		return fmt.Errorf("queue metrics: %w", err)
	}
	return nil
}
