package calcapi

import (
	"context"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// Factors implements FactorService.
type Factors struct {
	queries *calcbus.FactorQueries
}

var _ calcv1connect.FactorServiceHandler = (*Factors)(nil)

// NewFactors returns the handler.
func NewFactors(queries *calcbus.FactorQueries) *Factors { return &Factors{queries: queries} }

func (f *Factors) ListFactors(ctx context.Context, req *connect.Request[calcv1.ListFactorsRequest]) (*connect.Response[calcv1.ListFactorsResponse], error) {
	msg := req.Msg
	page, err := f.queries.List(ctx, calcbus.FactorFilter{
		Dataset: msg.GetDataset(), Version: msg.GetVersion(), Kind: msg.GetKind(), EmissionType: msg.GetEmissionType(),
		Classification: msg.GetClassification(), Region: msg.GetRegion(), Year: msg.GetYear(),
	}, msg.GetPageSize(), msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListFactorsResponse{NextPageToken: page.NextPageToken}
	for _, factor := range page.Factors {
		res.Factors = append(res.Factors, factorToProto(factor))
	}
	return connect.NewResponse(res), nil
}

func (f *Factors) ListFactorDatasets(ctx context.Context, _ *connect.Request[calcv1.ListFactorDatasetsRequest]) (*connect.Response[calcv1.ListFactorDatasetsResponse], error) {
	versions, err := f.queries.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListFactorDatasetsResponse{}
	for _, v := range versions {
		res.Datasets = append(res.Datasets, &calcv1.FactorDataset{
			Dataset: v.Dataset, Version: v.Version, Factors: v.Factors, FirstYear: v.FirstYear, LastYear: v.LastYear,
			Licences: v.Licences, Active: v.Active,
		})
	}
	return connect.NewResponse(res), nil
}

func factorToProto(f factors.Factor) *calcv1.Factor {
	return &calcv1.Factor{
		Id: f.ID.String(), Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType,
		Classification: f.Classification, Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit,
		Source: f.Source, Licence: f.Licence, GwpSet: f.GWPSet, Boundary: f.Boundary,
		RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
	}
}
