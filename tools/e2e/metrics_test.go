package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// seriesOf reports whether a service's /metrics holds a sample of name
// (a series with every label given).
func seriesOf(t *testing.T, sys *system, service, name string, labels ...string) bool {
	t.Helper()
	status, body := get(t, "http://"+sys.addrs[service]+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("%s /metrics: %d", service, status)
	}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		matches := true
		for _, label := range labels {
			matches = matches && strings.Contains(line, label)
		}
		if matches {
			return true
		}
	}
	return false
}

// After an import with rejected rows, a single entry, an export and a
// refused request, every metric an operator watches is at /metrics, in the
// process docs/operations.md names (the dashboard and the alerts read
// these names).
func TestMetricsAnOperatorWatchesAreServed(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_ANONYMOUS=1/1m")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"METRICS","name":"Lab","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+"PC,it,1,40,60,0,0\nBad,it,x,40,60,0,0\n", false)
	if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "WARNING" {
		t.Fatalf("import: %v", done)
	}
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", equipmentEntry(2025, "Freezer", 168, 350))
	export := mustCall(t, 200, "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	waitExport(t, sys, lab, export, 60*time.Second, "done")
	for range 2 {
		raw(t, "GET", api+"/me", "", "")
	}

	for _, m := range []struct {
		service, name string
		labels        []string
	}{
		{"ingest", "ingest_imports_total", []string{`kind="equipment"`, `result="WARNING"`, `ended_by="worker"`}},
		{"ingest", "ingest_import_rows_total", []string{`outcome="rejected"`}},
		{"ingest", "ingest_import_rows_total", []string{`outcome="imported"`}},
		{"ingest", "ingest_import_duration_seconds_bucket", []string{`kind="equipment"`}},
		{"ingest", "queue_tasks", []string{`state="pending"`}},
		{"ingest", "queue_oldest_pending_age_seconds", nil},
		{"reporting", "queue_tasks", nil},
		{"calc", "calc_entry_duration_seconds_bucket", []string{`operation="create"`, `result="ok"`}},
		{"reporting", "reporting_export_duration_seconds_bucket", []string{`result="done"`}},
		{"gateway", "gateway_ratelimit_refusals_total", []string{`class="anonymous"`}},
		{"gateway", "authn_token_cache_lookups_total", nil},
		{"gateway", "gateway_token_verifications_total", nil},
		{"gateway", "http_server_request_duration_seconds_bucket", nil},
		{"calc", "rpc_server_call_duration_seconds_bucket", []string{`rpc_method="co2.calc.v1.ActivityService/CreateActivity"`}},
		{"labs", "db_client_connection_count", nil},
		{"ingest", "db_client_connection_max", nil},
		{"calc", "db_client_connection_count", nil},
		{"reporting", "db_client_connection_count", nil},
	} {
		if !seriesOf(t, sys, m.service, m.name, m.labels...) {
			t.Errorf("%s /metrics has no %s%v", m.service, m.name, m.labels)
		}
	}
}
