package deploycheck

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/grpchealth"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/telemetry"
)

// exported is what the services' /metrics serve: each series name (a
// histogram's _bucket, _sum and _count apart) and the labels it may carry.
type exported map[string]map[string]bool

// targetLabels are those Prometheus adds to every series it scrapes: the
// Prometheus Operator's from a ServiceMonitor, and le of histogram buckets.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint", "le"}

var (
	// An instrument created in the services' code, e.g.
	// meter.Float64Histogram("calc.recalc.duration", metric.WithUnit("s"), ...
	instrumentCall = regexp.MustCompile(`\.(Int64|Float64)(Counter|UpDownCounter|Histogram|Gauge|ObservableCounter|ObservableUpDownCounter|ObservableGauge)\(\s*"([^"]+)"`)
	unitOption     = regexp.MustCompile(`metric\.WithUnit\("([^"]*)"\)`)
	// An attribute set in the services' code: attribute.String("kind", ...
	attributeKey = regexp.MustCompile(`attribute\.(?:String|Int|Int64|Bool|Float64)\("([a-z_.]+)"`)
)

// instrument is one metric instrument the services create.
type instrument struct {
	name, number, kind, unit string
	file                     string
}

// servicesInstruments finds every instrument created in the services' code
// and every attribute key they set.
func servicesInstruments(t *testing.T) ([]instrument, map[string]bool) {
	t.Helper()
	var instruments []instrument
	attributes := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "services"), func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		source, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(source)
		for _, at := range instrumentCall.FindAllStringSubmatchIndex(text, -1) {
			call := callText(text, at[1])
			found := instrument{number: text[at[2]:at[3]], kind: text[at[4]:at[5]], name: text[at[6]:at[7]], file: path}
			if unit := unitOption.FindStringSubmatch(call); unit != nil {
				found.unit = unit[1]
			}
			instruments = append(instruments, found)
		}
		for _, key := range attributeKey.FindAllStringSubmatch(text, -1) {
			attributes[strings.ReplaceAll(key[1], ".", "_")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return instruments, attributes
}

// callText is the rest of the call whose arguments start at from (after its
// first argument): up to the parenthesis that closes it.
func callText(text string, from int) string {
	depth, quoted := 1, false
	for i := from; i < len(text); i++ {
		switch c := text[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return text[from:i]
			}
		}
	}
	return text[from:]
}

// exportedMetrics serves the services' metrics as they do: the telemetry
// setup every service runs, the instruments the services create (same
// name, kind and unit, one value each), a Connect call through the
// interceptors every service mounts, and an HTTP request through the
// gateway's otelhttp handler. It returns what that /metrics then shows.
func exportedMetrics(t *testing.T) exported {
	t.Helper()
	ctx := context.Background()
	metricsHandler, shutdown, err := telemetry.Setup(ctx, "deploycheck", telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(ctx) })

	instruments, attributes := servicesInstruments(t)
	if len(instruments) < 15 {
		t.Fatalf("found %d instruments in services/: has the way they are created changed?", len(instruments))
	}
	meter := otel.Meter("deploycheck")
	for _, in := range instruments {
		if err := record(ctx, meter, in); err != nil {
			t.Fatalf("%s (%s): %v", in.name, in.file, err)
		}
	}

	// A Connect call answered OK and one answered NOT_FOUND, through the
	// handler options (interceptors) of platform/server.
	options, err := server.New(server.Config{}, slog.New(slog.DiscardHandler), metricsHandler).HandlerOptions()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker("deploycheck.v1.Check"), options...))
	mux.Handle("GET /metrics", metricsHandler)
	services := httptest.NewServer(mux)
	defer services.Close()
	for _, service := range []string{"deploycheck.v1.Check", "missing"} {
		post(t, services.URL+"/grpc.health.v1.Health/Check", `{"service":"`+service+`"}`)
	}

	// The gateway's edge: an answer of 500 through otelhttp.
	gatewaySource, err := os.ReadFile(filepath.Join(root, "services/gateway/internal/gateway/gateway.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gatewaySource), "otelhttp.NewHandler(") {
		t.Fatal("the gateway no longer measures its requests with otelhttp.NewHandler: the dashboard's gateway panels need another metric")
	}
	gateway := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}), "gateway"))
	defer gateway.Close()
	post(t, gateway.URL+"/api/v1/labs", "{}")

	response, err := http.Get(services.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	metrics := parseExposition(string(body))
	// The services' own instruments are recorded here without attributes:
	// their labels are the attribute keys the services' code sets.
	for _, in := range instruments {
		for name := range metrics {
			if strings.HasPrefix(name, strings.ReplaceAll(in.name, ".", "_")) {
				for key := range attributes {
					metrics[name][key] = true
				}
			}
		}
	}
	return metrics
}

// record creates in on meter and gives it one value.
func record(ctx context.Context, meter metric.Meter, in instrument) error {
	unit := metric.WithUnit(in.unit)
	var err error
	switch in.number + in.kind {
	case "Int64Counter":
		var c metric.Int64Counter
		if c, err = meter.Int64Counter(in.name, unit); err == nil {
			c.Add(ctx, 1)
		}
	case "Float64Counter":
		var c metric.Float64Counter
		if c, err = meter.Float64Counter(in.name, unit); err == nil {
			c.Add(ctx, 1)
		}
	case "Int64UpDownCounter":
		var c metric.Int64UpDownCounter
		if c, err = meter.Int64UpDownCounter(in.name, unit); err == nil {
			c.Add(ctx, 1)
		}
	case "Float64UpDownCounter":
		var c metric.Float64UpDownCounter
		if c, err = meter.Float64UpDownCounter(in.name, unit); err == nil {
			c.Add(ctx, 1)
		}
	case "Int64Histogram":
		var h metric.Int64Histogram
		if h, err = meter.Int64Histogram(in.name, unit); err == nil {
			h.Record(ctx, 1)
		}
	case "Float64Histogram":
		var h metric.Float64Histogram
		if h, err = meter.Float64Histogram(in.name, unit); err == nil {
			h.Record(ctx, 1)
		}
	case "Int64Gauge":
		var g metric.Int64Gauge
		if g, err = meter.Int64Gauge(in.name, unit); err == nil {
			g.Record(ctx, 1)
		}
	case "Float64Gauge":
		var g metric.Float64Gauge
		if g, err = meter.Float64Gauge(in.name, unit); err == nil {
			g.Record(ctx, 1)
		}
	case "Int64ObservableCounter":
		_, err = meter.Int64ObservableCounter(in.name, unit, metric.WithInt64Callback(observeInt))
	case "Int64ObservableUpDownCounter":
		_, err = meter.Int64ObservableUpDownCounter(in.name, unit, metric.WithInt64Callback(observeInt))
	case "Int64ObservableGauge":
		_, err = meter.Int64ObservableGauge(in.name, unit, metric.WithInt64Callback(observeInt))
	case "Float64ObservableCounter":
		_, err = meter.Float64ObservableCounter(in.name, unit, metric.WithFloat64Callback(observeFloat))
	case "Float64ObservableUpDownCounter":
		_, err = meter.Float64ObservableUpDownCounter(in.name, unit, metric.WithFloat64Callback(observeFloat))
	case "Float64ObservableGauge":
		_, err = meter.Float64ObservableGauge(in.name, unit, metric.WithFloat64Callback(observeFloat))
	}
	return err
}

func observeInt(_ context.Context, observer metric.Int64Observer) error {
	observer.Observe(1)
	return nil
}

func observeFloat(_ context.Context, observer metric.Float64Observer) error {
	observer.Observe(1)
	return nil
}

func post(t *testing.T, url, body string) {
	t.Helper()
	response, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, response.Body)
	_ = response.Body.Close()
}

var sampleLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)

// parseExposition reads the Prometheus text format: series names and the
// labels each carries.
func parseExposition(text string) exported {
	metrics := exported{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			continue
		}
		name := line[:end]
		if metrics[name] == nil {
			metrics[name] = map[string]bool{}
		}
		if line[end] == '{' {
			labels := line[end:strings.LastIndex(line, "}")]
			for _, label := range sampleLabel.FindAllStringSubmatch(labels, -1) {
				metrics[name][label[1]] = true
			}
		}
	}
	for _, labels := range metrics {
		for _, label := range targetLabels {
			labels[label] = true
		}
	}
	return metrics
}
