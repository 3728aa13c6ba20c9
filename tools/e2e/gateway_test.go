package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	response, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, string(body)
}

func TestHealthReadinessAndAPIReference(t *testing.T) {
	sys := startSystem(t)

	if status, body := get(t, sys.Gateway+"/health"); status != http.StatusOK || !strings.Contains(body, "ok") {
		t.Fatalf("/health: %d %s", status, body)
	}
	if status, body := get(t, sys.Gateway+"/ready"); status != http.StatusOK || !strings.Contains(body, `"labs":"serving"`) {
		t.Fatalf("/ready: %d %s", status, body)
	}

	status, body := get(t, sys.Gateway+"/openapi.json")
	var spec struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &spec) != nil {
		t.Fatalf("/openapi.json: %d %.200s", status, body)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", spec.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/api/v1/labs":                  {"get", "post"},
		"/api/v1/labs/{id}":             {"get", "put", "patch", "delete"},
		"/api/v1/labs/{id}:unarchive":   {"post"},
		"/api/v1/labs/{lab_id}/imports": {"get", "post"},
		"/api/v1/imports/{id}/status":   {"get"},
		"/api/v1/templates/{kind}":      {"get"},
		"/api/v1/factor-datasets":       {"get", "post"},
		"/api/v1/labs/{lab_id}/audit":   {"get"},
		"/api/v1/audit":                 {"get"},
		"/api/v1/factor-datasets/{dataset}/versions/{version}:activate": {"post"},
	} {
		for _, method := range methods {
			if _, ok := spec.Paths[path][method]; !ok {
				t.Errorf("the spec lacks %s %s", method, path)
			}
		}
	}

	status, body = get(t, sys.Gateway+"/docs")
	if status != http.StatusOK || !strings.Contains(body, "/docs/assets/swagger-ui-bundle.js") || strings.Contains(body, "https://") {
		t.Fatalf("/docs: %d %s", status, body)
	}
	for _, asset := range []string{"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/init.js"} {
		if status, body := get(t, sys.Gateway+asset); status != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: %d", asset, status)
		}
	}
}

func TestCORS(t *testing.T) {
	sys := startSystem(t, "CORS_ORIGINS=https://co2.example.org")
	preflight := func(origin string) (int, http.Header) {
		request, _ := http.NewRequest(http.MethodOptions, sys.Gateway+"/api/v1/labs", nil)
		request.Header.Set("Origin", origin)
		request.Header.Set("Access-Control-Request-Method", "POST")
		// Browsers send the names lower-cased and sorted.
		request.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		response.Body.Close()
		return response.StatusCode, response.Header
	}
	status, header := preflight("https://co2.example.org")
	if status != http.StatusNoContent || header.Get("Access-Control-Allow-Origin") != "https://co2.example.org" ||
		!strings.Contains(strings.ToLower(header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed origin: %d %v", status, header)
	}
	if _, header := preflight("https://evil.example.com"); header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", header)
	}
}

func TestAnUpstreamOutageIsReportedNotHidden(t *testing.T) {
	sys := startSystem(t)
	sys.stop(t, "labs")

	status, body := get(t, sys.Gateway+"/ready")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "labs") {
		t.Fatalf("/ready with labs down: %d %s", status, body)
	}
	status, answer := call(t, "admin", "GET", sys.Gateway+"/api/v1/labs", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(answer["message"].(string), "labs service is unavailable") {
		t.Fatalf("API with labs down: %d %v", status, answer)
	}
	if status, _ := get(t, sys.Gateway+"/health"); status != http.StatusOK {
		t.Fatalf("the gateway itself is still alive: %d", status)
	}
}

// accessLines are the gateway's access log lines so far, decoded.
func accessLines(t *testing.T, sys *system) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(sys.logs.String(), "\n") {
		start := strings.Index(line, "{")
		if !strings.HasPrefix(line, "gateway") || start < 0 || !strings.Contains(line, `"msg":"request"`) {
			continue
		}
		entry := map[string]any{}
		if err := jsonUnmarshal([]byte(line[start:]), &entry); err != nil {
			t.Fatalf("an access line is not JSON: %s", line)
		}
		lines = append(lines, entry)
	}
	return lines
}

func TestEveryRequestHasAnAccessLineAndATraceIDToQuote(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"ACCESS","name":"Lab","country":"CH"}`)["id"].(string)
	subject := decodeSegment(t, strings.Split(tokens["admin"], ".")[1])["sub"].(string)

	send := func(path, token, traceparent string) (int, string) {
		request, _ := http.NewRequest(http.MethodGet, api+path, nil)
		if token != "" {
			request.Header.Set("Authorization", "Bearer "+token)
		}
		if traceparent != "" {
			request.Header.Set("traceparent", traceparent)
		}
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, response.Body)
		response.Body.Close()
		return response.StatusCode, response.Header.Get("X-Trace-Id")
	}
	// A caller's traceparent is not continued: the gateway, the public
	// edge, starts a trace of its own and names it.
	hex := regexp.MustCompile(`^[0-9a-f]{32}$`)
	const callersTrace = "5bf92f3577b34da6a3ce929d0e0e4736"
	status, traceID := send("/labs/"+lab, tokens["admin"], "00-"+callersTrace+"-00f067aa0ba902b7-01")
	if status != 200 || !hex.MatchString(traceID) || traceID == callersTrace {
		t.Fatalf("GET the lab: %d, trace %q; want 200 and a trace of the gateway's own", status, traceID)
	}
	// Errors carry the id of their own trace.
	notFound, notFoundTrace := send("/labs/00000000-0000-4000-8000-000000000000", tokens["admin"], "")
	unauthenticated, unauthenticatedTrace := send("/labs/"+lab, "", "")
	if notFound != 404 || !hex.MatchString(notFoundTrace) || unauthenticated != 401 || !hex.MatchString(unauthenticatedTrace) || notFoundTrace == unauthenticatedTrace {
		t.Fatalf("errors: %d with trace %q, %d with trace %q; want 404 and 401, each with its own trace id", notFound, notFoundTrace, unauthenticated, unauthenticatedTrace)
	}

	// One access line each: the route template (never the lab's id), the
	// status, the caller and the trace.
	want := []struct {
		trace, route, subject string
		status                float64
	}{
		{traceID, "GET /api/v1/labs/{id}", subject, 200},
		{notFoundTrace, "GET /api/v1/labs/{id}", subject, 404},
		{unauthenticatedTrace, "GET /api/v1/labs/{id}", "", 401},
	}
	// A line is written once its answer is sent: the last may lag.
	lineOf := func(trace string) map[string]any {
		for _, line := range accessLines(t, sys) {
			if line["trace_id"] == trace {
				return line
			}
		}
		return nil
	}
	waitUntil(t, 10*time.Second, "the access lines", func() bool { return lineOf(unauthenticatedTrace) != nil })
	lines := accessLines(t, sys)
	for _, w := range want {
		found := lineOf(w.trace)
		if found == nil || found["route"] != w.route || found["status"] != w.status || found["subject"] != w.subject ||
			found["method"] != "GET" || found["duration_ms"] == nil {
			t.Errorf("the access line of trace %s: %v; want route %q, status %v, subject %q", w.trace, found, w.route, w.status, w.subject)
		}
	}
	for _, line := range lines {
		if strings.Contains(fmt.Sprint(line["route"]), lab) {
			t.Errorf("an access line names a raw path: %v", line)
		}
	}
}
