package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
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
	return response, string(body)
}

func TestHealthReadinessAndAPIReference(t *testing.T) {
	sys := startSystem(t)

	if response, body := get(t, sys.Gateway+"/health"); response.StatusCode != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/health: %d %s", response.StatusCode, body)
	}
	if response, body := get(t, sys.Gateway+"/ready"); response.StatusCode != 200 || !strings.Contains(body, `"labs":"serving"`) {
		t.Fatalf("/ready: %d %s", response.StatusCode, body)
	}

	response, body := get(t, sys.Gateway+"/openapi.json")
	var spec struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if response.StatusCode != 200 || json.Unmarshal([]byte(body), &spec) != nil {
		t.Fatalf("/openapi.json: %d %.200s", response.StatusCode, body)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", spec.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/api/v1/labs":                {"get", "post"},
		"/api/v1/labs/{id}":           {"get", "put", "patch", "delete"},
		"/api/v1/labs/{id}:unarchive": {"post"},
	} {
		for _, method := range methods {
			if _, ok := spec.Paths[path][method]; !ok {
				t.Errorf("the spec lacks %s %s", method, path)
			}
		}
	}

	response, body = get(t, sys.Gateway+"/docs")
	if response.StatusCode != 200 || !strings.Contains(body, "/docs/assets/swagger-ui-bundle.js") || strings.Contains(body, "https://") {
		t.Fatalf("/docs: %d %s", response.StatusCode, body)
	}
	for _, asset := range []string{"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/init.js"} {
		if response, body := get(t, sys.Gateway+asset); response.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s: %d", asset, response.StatusCode)
		}
	}
}

func TestCORS(t *testing.T) {
	sys := startSystem(t, "CORS_ORIGINS=https://co2.example.org")
	preflight := func(origin string) *http.Response {
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
		return response
	}
	allowed := preflight("https://co2.example.org")
	if allowed.StatusCode != http.StatusNoContent || allowed.Header.Get("Access-Control-Allow-Origin") != "https://co2.example.org" ||
		!strings.Contains(strings.ToLower(allowed.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed origin: %d %v", allowed.StatusCode, allowed.Header)
	}
	if refused := preflight("https://evil.example.com"); refused.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", refused.Header)
	}
}

func TestAnUpstreamOutageIsReportedNotHidden(t *testing.T) {
	sys := startSystem(t)
	sys.stop(t, "labs")

	response, body := get(t, sys.Gateway+"/ready")
	if response.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "labs") {
		t.Fatalf("/ready with labs down: %d %s", response.StatusCode, body)
	}
	status, answer := call(t, "GET", sys.Gateway+"/api/v1/labs", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(answer["message"].(string), "labs service is unavailable") {
		t.Fatalf("API with labs down: %d %v", status, answer)
	}
	if response, _ := get(t, sys.Gateway+"/health"); response.StatusCode != 200 {
		t.Fatalf("the gateway itself is still alive: %d", response.StatusCode)
	}
}
