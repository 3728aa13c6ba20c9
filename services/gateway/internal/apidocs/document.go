package apidocs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// errorSchema is the shape of every error the gateway answers
// (services/gateway/internal/resterr): google.rpc.Status as JSON.
var errorSchema = map[string]any{
	"type":        "object",
	"description": "Every error of the API: the google.rpc.Status of the failed call, with the HTTP status of its code.",
	"required":    []string{"code", "message"},
	"properties": map[string]any{
		"code":    map[string]any{"type": "integer", "description": "The google.rpc.Code, e.g. 3 (invalid argument), 5 (not found), 7 (permission denied), 16 (unauthenticated)"},
		"message": map[string]any{"type": "string", "description": "What went wrong and what to do about it"},
		"details": map[string]any{
			"type":        "array",
			"description": "Structured details, e.g. a google.rpc.BadRequest naming each field to fix",
			"items": map[string]any{
				"type":                 "object",
				"properties":           map[string]any{"@type": map[string]any{"type": "string"}},
				"additionalProperties": true,
			},
		},
	},
}

// errorDescriptions are the error answers an operation may give.
var errorDescriptions = map[string]string{
	"400": "The request is invalid; the message (and a BadRequest detail) says what to fix",
	"401": "No valid bearer token; see WWW-Authenticate",
	"403": "Your role does not allow this",
	"404": "No such resource, or not in your labs",
	"409": "The resource's state or a unique value refuses the change",
	"413": "The body is larger than allowed",
	"429": "Too many requests; see Retry-After",
	"500": "An internal error (logged with the request's trace)",
	"503": "A service is unavailable; try again shortly",
}

// errorsOf are the error statuses an operation documents: every one may be
// refused, throttled or fail; one naming a resource may find none; a write
// may conflict and carries a body that may be too large.
func errorsOf(method, path string) []string {
	statuses := []string{"400", "401", "403", "429", "500", "503"}
	if strings.Contains(path, "{") {
		statuses = append(statuses, "404")
	}
	if method != "get" {
		statuses = append(statuses, "409", "413")
	}
	sort.Strings(statuses)
	return statuses
}

// Document is the served OpenAPI document: the generated one with the
// security schemes (a bearer JWT, and the OIDC issuer's discovery when
// issuerURL is set) required by every /api/v1 operation, and the error
// answers of each in the API's error shape.
func Document(generated []byte, issuerURL string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("the OpenAPI document: %w", err)
	}
	components := object(doc, "components")
	object(components, "schemas")["Error"] = errorSchema
	schemes := object(components, "securitySchemes")
	schemes["bearer"] = map[string]any{
		"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
		"description": "An access token of the OIDC issuer (OAUTH_ISSUER_URL), audience OAUTH_AUDIENCE: see docs/auth.md. Paste it without the Bearer prefix.",
	}
	security := []any{map[string]any{"bearer": []any{}}}
	if issuerURL != "" {
		schemes["oidc"] = map[string]any{
			"type":             "openIdConnect",
			"openIdConnectUrl": strings.TrimSuffix(issuerURL, "/") + "/.well-known/openid-configuration",
			"description":      "The issuer's own login (its discovery document names the endpoints).",
		}
		security = append(security, map[string]any{"oidc": []any{}})
	}
	doc["security"] = security
	templateAsFile(doc)

	errorResponse := map[string]any{"$ref": "#/components/schemas/Error"}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		operations, _ := item.(map[string]any)
		for method, value := range operations {
			operation, ok := value.(map[string]any)
			if !ok || !isMethod(method) {
				continue
			}
			operation["security"] = security
			responses := object(operation, "responses")
			for _, status := range errorsOf(method, path) {
				response, _ := responses[status].(map[string]any)
				if response == nil {
					response = map[string]any{"description": errorDescriptions[status]}
					responses[status] = response
				}
				response["content"] = map[string]any{"application/json": map[string]any{"schema": errorResponse}}
			}
		}
	}
	return json.Marshal(doc)
}

func isMethod(name string) bool {
	switch strings.ToUpper(name) {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// object returns parent[key] as an object, creating it when absent.
func object(parent map[string]any, key string) map[string]any {
	child, ok := parent[key].(map[string]any)
	if !ok {
		child = map[string]any{}
		parent[key] = child
	}
	return child
}

// templateAsFile documents the CSV answer of GET /api/v1/templates/{kind}
// (served by the gateway, which the proto cannot say).
func templateAsFile(doc map[string]any) {
	paths, _ := doc["paths"].(map[string]any)
	item, _ := paths["/api/v1/templates/{kind}"].(map[string]any)
	get, _ := item["get"].(map[string]any)
	if get == nil {
		return
	}
	ok := object(object(get, "responses"), "200")
	ok["description"] = "The kind's template (JSON); with format=csv or Accept: text/csv, its CSV as a file"
	object(ok, "content")["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
	object(ok, "headers")["Content-Disposition"] = map[string]any{
		"schema": map[string]any{"type": "string"}, "description": `CSV: attachment; filename="<kind>-template.csv"`,
	}
}
