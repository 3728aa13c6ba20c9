package apidocs

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The served document lets the reference page authenticate: a bearer (JWT)
// scheme and the issuer's OIDC discovery, required by every /api/v1
// operation, each of which documents its error answers in the error shape.
func TestEveryOperationIsSecuredAndDocumentsItsErrors(t *testing.T) {
	mux := http.NewServeMux()
	if err := Register(mux, "https://issuer.example.org/dex"); err != nil {
		t.Fatal(err)
	}
	recorder := httptest.NewRecorder()
	mux.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc struct {
		Paths      map[string]map[string]operation `json:"paths"`
		Components struct {
			SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
			Schemas         map[string]json.RawMessage   `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(recorder.Body.Bytes(), &doc); err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
	if bearer := doc.Components.SecuritySchemes["bearer"]; bearer["type"] != "http" || bearer["scheme"] != "bearer" || bearer["bearerFormat"] != "JWT" {
		t.Fatalf("bearer scheme: %v", bearer)
	}
	if oidc := doc.Components.SecuritySchemes["oidc"]; oidc["openIdConnectUrl"] != "https://issuer.example.org/dex/.well-known/openid-configuration" {
		t.Fatalf("OIDC scheme: %v", oidc)
	}
	if _, ok := doc.Components.Schemas["Error"]; !ok {
		t.Fatal("no Error schema")
	}
	operations := 0
	for path, methods := range doc.Paths {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range methods {
			operations++
			if !op.requires("bearer") {
				t.Errorf("%s %s: security %v, want the bearer scheme", method, path, op.Security)
			}
			for _, status := range []string{"401", "500"} {
				if op.Responses[status].Content["application/json"].Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: no %s answer in the error shape", method, path, status)
				}
			}
		}
	}
	if _, ok := doc.Paths["/api/v1/templates/{kind}"]["get"].Responses["200"].Content["text/csv"]; !ok {
		t.Error("the template's CSV answer is not documented")
	}
	if _, ok := doc.Paths["/api/v1/imports/{id}/events"]["get"].Responses["200"].Content["text/event-stream"]; !ok {
		t.Error("the import's event stream is not documented")
	}
	if operations < 40 {
		t.Fatalf("%d operations under /api/v1", operations)
	}
	if policy := recorderPolicy(t, mux); !strings.Contains(policy, "connect-src 'self' https://issuer.example.org") {
		t.Fatalf("the page may not read the issuer's discovery: %s", policy)
	}
}

type operation struct {
	Security  []map[string][]string `json:"security"`
	Responses map[string]struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func (o operation) requires(scheme string) bool {
	for _, requirement := range o.Security {
		if _, ok := requirement[scheme]; ok {
			return true
		}
	}
	return false
}

func recorderPolicy(t *testing.T, mux *http.ServeMux) string {
	t.Helper()
	recorder := httptest.NewRecorder()
	mux.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/docs/", nil))
	return recorder.Header().Get("Content-Security-Policy")
}
