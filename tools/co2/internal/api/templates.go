package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxTemplateBytes bounds a template (a header line and an example row).
const maxTemplateBytes = 1 << 20

// TemplateCSV returns the CSV template of kind: the CSV file itself where
// the gateway serves it (format=csv answered as text/csv), otherwise the
// csv field of the JSON template.
func (c *Client) TemplateCSV(ctx context.Context, kind string) ([]byte, error) {
	asked := request{path: "/templates/" + url.PathEscape(kind), query: url.Values{"format": {"csv"}},
		accept: "text/csv, application/json;q=0.5", notFound: "no template for kind " + kind + " (co2 templates list shows the kinds)"}
	response, err := c.do(ctx, asked)
	if IsStatus(err, http.StatusBadRequest) {
		// A gateway that knows no format parameter: its JSON holds the CSV.
		asked.query = nil
		response, err = c.do(ctx, asked)
	}
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, maxTemplateBytes))
	if err != nil {
		return nil, fmt.Errorf("reading template %s: %w", kind, err)
	}
	if mediaType, _, _ := mime.ParseMediaType(response.Header.Get("Content-Type")); mediaType == "text/csv" {
		return body, nil
	}
	var template struct {
		CSV string `json:"csv"`
	}
	if err := json.Unmarshal(body, &template); err != nil || template.CSV == "" {
		return nil, fmt.Errorf("template %s: the answer holds no CSV", kind)
	}
	return []byte(template.CSV), nil
}

// Template is a kind's description.
type Template struct {
	Kind        string `json:"kind"`
	Module      string `json:"module"`
	Description string `json:"description"`
}

// ListTemplates returns every kind.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	var answer struct {
		Templates []Template `json:"templates"`
	}
	err := c.getJSON(ctx, request{path: "/templates"}, &answer)
	return answer.Templates, err
}
