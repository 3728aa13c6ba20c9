package gateway

import (
	"mime"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"
)

// templateFiles serves GET /api/v1/templates/{kind} as a CSV file when the
// client asks for one (format=csv, or Accept preferring text/csv to JSON);
// the JSON answer stays the default, transcoded as every other.
type templateFiles struct {
	calc  calcv1connect.TemplateServiceClient
	other http.Handler
}

func (t *templateFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !wantsCSV(r) {
		t.other.ServeHTTP(w, r)
		return
	}
	ctx := withBearer(r)
	res, err := t.calc.GetTemplate(ctx, connect.NewRequest(&calcv1.GetTemplateRequest{Kind: r.PathValue("kind"), Format: "csv"}))
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	template := res.Msg.GetTemplate()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	// Kinds are lower-case names with underscores: nothing to quote.
	w.Header().Set("Content-Disposition", `attachment; filename="`+template.GetKind()+`-template.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(template.GetCsv()))
}

// wantsCSV: format=csv, or (no format given) an Accept header that names
// text/csv before any JSON type.
func wantsCSV(r *http.Request) bool {
	if format := r.URL.Query().Get("format"); format != "" {
		return format == "csv"
	}
	for _, accepted := range strings.Split(r.Header.Get("Accept"), ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(accepted))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch {
		case mediaType == "text/csv":
			return true
		case mediaType == "application/json", strings.HasSuffix(mediaType, "+json"):
			return false
		}
	}
	return false
}
