package e2e

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// span is a span a service exported, as the collector received it.
type span struct {
	service, name             string
	traceID, spanID, parentID string
	kind                      tracepb.Span_SpanKind
	// links are the trace ids the span links to.
	links []string
	attrs map[string]string
	error bool
}

func (s span) String() string {
	return fmt.Sprintf("%s %q (%s) trace %s span %s parent %s", s.service, s.name, s.kind, s.traceID, s.spanID, s.parentID)
}

// collector is an OTLP/HTTP trace receiver: the services of a system
// started with its env export their spans to it, as to a real collector.
type collector struct {
	mu    sync.Mutex
	spans []span
}

// startCollector listens on a port of its own and returns the collector and
// the environment that points a system's services at it (spans sent every
// 100 ms).
func startCollector(t *testing.T) (*collector, []string) {
	t.Helper()
	c := &collector{}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{Handler: http.HandlerFunc(c.receive), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })
	return c, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + listener.Addr().String(), "OTEL_BSP_SCHEDULE_DELAY=100"}
}

func (c *collector) receive(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		unzipped, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = unzipped
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	request := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, request); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var received []span
	for _, resource := range request.GetResourceSpans() {
		service := ""
		for _, attr := range resource.GetResource().GetAttributes() {
			if attr.GetKey() == "service.name" {
				service = attr.GetValue().GetStringValue()
			}
		}
		for _, scope := range resource.GetScopeSpans() {
			for _, s := range scope.GetSpans() {
				got := span{
					service: service, name: s.GetName(), kind: s.GetKind(),
					traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
					parentID: hex.EncodeToString(s.GetParentSpanId()), attrs: map[string]string{},
					error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
				}
				for _, link := range s.GetLinks() {
					got.links = append(got.links, hex.EncodeToString(link.GetTraceId()))
				}
				for _, attr := range s.GetAttributes() {
					got.attrs[attr.GetKey()] = attr.GetValue().String()
				}
				received = append(received, got)
			}
		}
	}
	c.mu.Lock()
	c.spans = append(c.spans, received...)
	c.mu.Unlock()
	answer, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(answer)
}

// all returns the spans received so far.
func (c *collector) all() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// trace returns the spans of traceID received so far.
func (c *collector) trace(traceID string) []span {
	var spans []span
	for _, s := range c.all() {
		if s.traceID == traceID {
			spans = append(spans, s)
		}
	}
	return spans
}

// spanMatch is what a span the test waits for must be.
type spanMatch struct {
	what    string
	service string
	kind    tracepb.Span_SpanKind
	// name is the span's name, its prefix when it ends with "*", its
	// suffix when it starts with "*".
	name string
	// attr, when set, must be one of the span's attributes.
	attr string
}

func (m spanMatch) matches(s span) bool {
	if s.service != m.service || (m.kind != tracepb.Span_SPAN_KIND_UNSPECIFIED && s.kind != m.kind) {
		return false
	}
	if prefix, ok := strings.CutSuffix(m.name, "*"); ok {
		if !strings.HasPrefix(s.name, prefix) {
			return false
		}
	} else if suffix, ok := strings.CutPrefix(m.name, "*"); ok {
		if !strings.HasSuffix(s.name, suffix) {
			return false
		}
	} else if m.name != "" && s.name != m.name {
		return false
	}
	_, ok := s.attrs[m.attr]
	return m.attr == "" || ok
}

// waitForSpans waits until traceID holds a span of each match, and returns
// the first span found for each; it fails listing the trace's spans.
func (c *collector) waitForSpans(t *testing.T, traceID string, matches ...spanMatch) []span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans := c.trace(traceID)
		found := make([]span, len(matches))
		missing := []string{}
		for i, m := range matches {
			at := slices.IndexFunc(spans, m.matches)
			if at < 0 {
				missing = append(missing, m.what)
				continue
			}
			found[i] = spans[at]
		}
		if len(missing) == 0 {
			return found
		}
		if time.Now().After(deadline) {
			var listed []string
			for _, s := range spans {
				listed = append(listed, s.String())
			}
			t.Fatalf("trace %s lacks %v; it holds %d spans:\n%s", traceID, missing, len(spans), strings.Join(listed, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An export's trace runs from the request through reporting and its queue
// to the worker that writes it, and into calc, which streams the rows.
func TestOneTraceFromAnExportToItsWorker(t *testing.T) {
	spans, env := startCollector(t)
	sys := startSystem(t, env...)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"TRACE-EXPORT","name":"Lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", equipmentEntry(2025, "Freezer", 168, 350))
	request, _ := http.NewRequest(http.MethodPost, api+"/reports/"+lab+"/exports", strings.NewReader(`{"year":2025}`))
	request.Header.Set("Authorization", "Bearer "+tokens["admin"])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(response.Body)
	response.Body.Close()
	answer := map[string]any{}
	if err := jsonUnmarshal(raw, &answer); err != nil || response.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", response.StatusCode, raw)
	}
	trace := response.Header.Get("X-Trace-Id")
	waitExport(t, sys, lab, answer["export"].(map[string]any)["id"].(string), 60*time.Second, "done")
	found := spans.waitForSpans(t, trace,
		spanMatch{what: "the gateway's request", service: "gateway", kind: tracepb.Span_SPAN_KIND_SERVER, name: "POST /api/v1/reports/{lab_id}/exports"},
		spanMatch{what: "reporting making the export", service: "reporting", kind: tracepb.Span_SPAN_KIND_SERVER, name: "*/CreateExport"},
		spanMatch{what: "reporting queueing it", service: "reporting", kind: tracepb.Span_SPAN_KIND_PRODUCER, name: "enqueue *"},
		spanMatch{what: "the export worker's task", service: "reporting", kind: tracepb.Span_SPAN_KIND_CONSUMER},
		spanMatch{what: "calc streaming the rows", service: "calc", kind: tracepb.Span_SPAN_KIND_SERVER, name: "*/ListActivitiesForExport"},
	)
	if producer, consumer := found[2], found[3]; consumer.parentID != producer.spanID {
		t.Fatalf("the worker's span is not the enqueue's child: %s, %s", consumer, producer)
	}
}
