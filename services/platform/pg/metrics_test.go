package pg_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/pg"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// The pool's metrics show an exhausted pool: every connection used, and
// requests that waited for one.
func TestPoolMetricsShowConnectionsInUseAndWaits(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pg.Open(ctx, pg.Config{URL: config.SecretURL(pgtest.NewDatabase(t)), MaxConns: 1, AcquireTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pg.Instrument(pool); err != nil {
		t.Fatal(err)
	}
	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pool.Exec(ctx, "SELECT 1") // waits, and gives up
	var collected metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &collected); err != nil {
		t.Fatal(err)
	}
	_ = held.Rollback(ctx)
	values := map[string]float64{}
	for _, scope := range collected.ScopeMetrics {
		for _, m := range scope.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, point := range data.DataPoints {
					state, _ := point.Attributes.Value("state")
					values[strings.TrimSuffix(m.Name+"/"+state.AsString(), "/")] = float64(point.Value)
				}
			case metricdata.Sum[int64]:
				values[m.Name] = float64(data.DataPoints[0].Value)
			case metricdata.Sum[float64]:
				values[m.Name] = data.DataPoints[0].Value
			}
		}
	}
	if values["db.client.connection.count/used"] != 1 || values["db.client.connection.max"] != 1 ||
		values["db.client.connection.waits"] < 1 || values["db.client.connection.wait_cancelled"] < 1 || values["db.client.connection.wait_time"] <= 0 {
		t.Fatalf("pool metrics with the one connection held and a request given up: %v", values)
	}
}
