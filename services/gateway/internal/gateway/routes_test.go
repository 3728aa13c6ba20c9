package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
)

func TestRequestsAreNamedByTheirRouteNeverByTheirPath(t *testing.T) {
	mux := http.NewServeMux()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/api/v1/", noop)
	mux.Handle("POST /api/v1/labs/{id}/imports", noop)
	mux.Handle("GET /health", noop)
	mux.Handle("GET /api/v1/reports/{lab_id}/exports/{export}", noop)
	routes, err := newRoutes(mux, "/api/v1/", []string{labsv1connect.LabsServiceName, calcv1connect.ReportingYearServiceName, calcv1connect.ActivityServiceName,
		reportingv1connect.ReportServiceName})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/v1/labs/0b6e7f8a-1d2c-4e5f-8a9b-0c1d2e3f4a5b", "GET /api/v1/labs/{id}"},
		{"HEAD", "/api/v1/labs/0b6e7f8a", "GET /api/v1/labs/{id}"},
		{"GET", "/api/v1/labs/abc/members", "GET /api/v1/labs/{lab_id}/members"},
		{"POST", "/api/v1/labs/abc/years/2025:close", "POST /api/v1/labs/{lab_id}/years/{year}:close"},
		{"POST", "/api/v1/labs/abc/years/2025:reopen", "POST /api/v1/labs/{lab_id}/years/{year}:reopen"},
		{"POST", "/api/v1/years/2025:close", "POST /api/v1/years/{year}:close"},
		{"POST", "/api/v1/labs/abc/activities:validate", "POST /api/v1/labs/{lab_id}/activities:validate"},
		{"POST", "/api/v1/labs/abc/activities/def:validate", "POST /api/v1/labs/{lab_id}/activities/{id}:validate"},
		{"POST", "/api/v1/labs/abc/imports", "POST /api/v1/labs/{id}/imports"},
		{"GET", "/health", "GET /health"},
		{"POST", "/api/v1/reports/abc/exports", "POST /api/v1/reports/{lab_id}/exports"},
		{"GET", "/api/v1/reports/abc/exports/def", "GET /api/v1/reports/{lab_id}/exports/{export}"},
		{"DELETE", "/api/v1/labs/abc/members", unmatchedRoute},
		{"GET", "/api/v1/no/such/thing/42", unmatchedRoute},
	} {
		if got := routes.name(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
