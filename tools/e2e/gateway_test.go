package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
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
