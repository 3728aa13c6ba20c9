package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument reports the pool's state with every collection of metrics:
// connections in use and idle against the maximum, and how often and how
// long requests waited for one (the signs of an exhausted pool).
func Instrument(pool *pgxpool.Pool) error {
	meter := otel.Meter("co2-calculator/pg")
	connections, err := meter.Int64ObservableGauge("db.client.connection.count",
		metric.WithDescription("Connections of the pool, by state (used, idle)"), metric.WithUnit("{connection}"))
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	maximum, err := meter.Int64ObservableGauge("db.client.connection.max",
		metric.WithDescription("The most connections the pool opens (DB_MAX_CONNS)"), metric.WithUnit("{connection}"))
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	waits, err := meter.Int64ObservableCounter("db.client.connection.waits",
		metric.WithDescription("Acquisitions that found no idle connection and waited"), metric.WithUnit("{acquisition}"))
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	waited, err := meter.Float64ObservableCounter("db.client.connection.wait_time",
		metric.WithDescription("Time spent waiting for a connection"), metric.WithUnit("s"))
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	cancelled, err := meter.Int64ObservableCounter("db.client.connection.wait_cancelled",
		metric.WithDescription("Acquisitions given up before a connection came (DB_ACQUIRE_TIMEOUT or the request's end)"), metric.WithUnit("{acquisition}"))
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	used, idle := metric.WithAttributes(attribute.String("state", "used")), metric.WithAttributes(attribute.String("state", "idle"))
	_, err = meter.RegisterCallback(func(_ context.Context, observer metric.Observer) error {
		stat := pool.Stat()
		observer.ObserveInt64(connections, int64(stat.AcquiredConns()), used)
		observer.ObserveInt64(connections, int64(stat.IdleConns()), idle)
		observer.ObserveInt64(maximum, int64(stat.MaxConns()))
		observer.ObserveInt64(waits, stat.EmptyAcquireCount())
		observer.ObserveFloat64(waited, stat.EmptyAcquireWaitTime().Seconds())
		observer.ObserveInt64(cancelled, stat.CanceledAcquireCount())
		return nil
	}, connections, maximum, waits, waited, cancelled)
	if err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	return nil
}
