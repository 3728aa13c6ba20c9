// Package calcapi serves the calc service's Connect APIs.
package calcapi

import (
	"context"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Templates implements TemplateService from the kinds registry. Any
// authenticated caller may read it.
type Templates struct{}

var _ calcv1connect.TemplateServiceHandler = Templates{}

func (Templates) ListTemplates(context.Context, *connect.Request[calcv1.ListTemplatesRequest]) (*connect.Response[calcv1.ListTemplatesResponse], error) {
	res := &calcv1.ListTemplatesResponse{}
	for _, kind := range catalog.All() {
		res.Templates = append(res.Templates, templateOf(kind))
	}
	return connect.NewResponse(res), nil
}

func (Templates) GetTemplate(_ context.Context, req *connect.Request[calcv1.GetTemplateRequest]) (*connect.Response[calcv1.GetTemplateResponse], error) {
	kind, ok := catalog.Lookup(req.Msg.GetKind())
	if !ok {
		return nil, apperr.NotFound("no kind %q: the kinds are %s", req.Msg.GetKind(), catalog.Names())
	}
	if format := req.Msg.GetFormat(); format != "" && format != "json" && format != "csv" {
		return nil, apperr.Invalid("format", "%q is not a format: give json (the default) or csv", format)
	}
	return connect.NewResponse(&calcv1.GetTemplateResponse{Template: templateOf(kind)}), nil
}

func templateOf(kind *kinds.Kind) *calcv1.Template {
	template := &calcv1.Template{Kind: kind.Name, Module: kind.Module, Description: kind.Description, Csv: kind.CSV()}
	for _, column := range kind.Columns {
		template.Columns = append(template.Columns, &calcv1.Column{
			Name: column.Name, Type: column.Type, Unit: column.Unit, Required: column.Required, Description: column.Description,
		})
	}
	return template
}
