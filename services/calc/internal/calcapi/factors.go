package calcapi

import (
	"context"
	"net/url"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/chunkstream"
)

// Factors implements FactorService.
type Factors struct {
	search   *factorbus.Search
	datasets *datasetbus.Datasets
	history  *recalcbus.History
	watchers *recalcbus.Watchers
}

var _ calcv1connect.FactorServiceHandler = (*Factors)(nil)

// NewFactors returns the handler.
func NewFactors(search *factorbus.Search, datasets *datasetbus.Datasets, history *recalcbus.History, watchers *recalcbus.Watchers) *Factors {
	return &Factors{search: search, datasets: datasets, history: history, watchers: watchers}
}

func (f *Factors) ListFactors(ctx context.Context, req *connect.Request[calcv1.ListFactorsRequest]) (*connect.Response[calcv1.ListFactorsResponse], error) {
	msg := req.Msg
	page, err := f.search.List(ctx, factorbus.Filter{
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

func (f *Factors) ListFactorDatasets(ctx context.Context, req *connect.Request[calcv1.ListFactorDatasetsRequest]) (*connect.Response[calcv1.ListFactorDatasetsResponse], error) {
	answer, err := f.datasets.List(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListFactorDatasetsResponse{}
	for _, v := range answer.Versions {
		res.Datasets = append(res.Datasets, datasetToProto(v))
	}
	for _, a := range answer.Activations {
		res.Activations = append(res.Activations, activationToProto(a))
	}
	if in := answer.InForce; in != nil {
		res.InForce = &calcv1.FactorsInForce{Year: in.Year, Dataset: in.Dataset, Version: in.Version, Note: in.Note}
	}
	return connect.NewResponse(res), nil
}

func (f *Factors) UploadFactorDataset(ctx context.Context, stream *connect.ClientStream[calcv1.UploadFactorDatasetRequest]) (*connect.Response[calcv1.UploadFactorDatasetResponse], error) {
	meta, file, err := chunkstream.Upload(stream, (*calcv1.UploadFactorDatasetRequest).GetMetadata, (*calcv1.UploadFactorDatasetRequest).GetChunk)
	if err != nil {
		return nil, err
	}
	version, err := f.datasets.Upload(ctx, meta.GetDataset(), meta.GetVersion(), meta.GetDescription(), file)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.UploadFactorDatasetResponse{
		Dataset:   datasetToProto(version),
		StatusUrl: "/api/v1/factor-datasets/" + url.PathEscape(version.Dataset) + "/versions/" + url.PathEscape(version.Version),
	}), nil
}

func (f *Factors) GetFactorDatasetVersion(ctx context.Context, req *connect.Request[calcv1.GetFactorDatasetVersionRequest]) (*connect.Response[calcv1.GetFactorDatasetVersionResponse], error) {
	version, err := f.datasets.Version(ctx, req.Msg.GetDataset(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.GetFactorDatasetVersionResponse{Dataset: datasetToProto(version)}), nil
}

func (f *Factors) ActivateFactorDatasetVersion(ctx context.Context, req *connect.Request[calcv1.ActivateFactorDatasetVersionRequest]) (*connect.Response[calcv1.ActivateFactorDatasetVersionResponse], error) {
	activated, err := f.datasets.Activate(ctx, req.Msg.GetDataset(), req.Msg.GetVersion(), req.Msg.GetYears(), req.Msg.GetForce())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ActivateFactorDatasetVersionResponse{RecalculationsQueued: int64(activated.Recalculations)}
	for _, a := range activated.Activations {
		res.Activations = append(res.Activations, activationToProto(a))
	}
	for _, y := range activated.Skipped {
		res.Skipped = append(res.Skipped, &calcv1.SkippedYear{LabId: y.LabID.String(), Year: y.Year})
	}
	return connect.NewResponse(res), nil
}

func (f *Factors) ListRecalculations(ctx context.Context, req *connect.Request[calcv1.ListRecalculationsRequest]) (*connect.Response[calcv1.ListRecalculationsResponse], error) {
	recalculations, err := f.history.Recalculations(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListRecalculationsResponse{}
	for _, r := range recalculations {
		res.Recalculations = append(res.Recalculations, recalculationToProto(r))
	}
	return connect.NewResponse(res), nil
}

func recalculationToProto(r recalcbus.Recalculation) *calcv1.Recalculation {
	return &calcv1.Recalculation{
		Id: r.ID.String(), LabId: r.LabID.String(), Year: r.Year, Kind: r.Kind, FromVersions: r.FromVersions,
		ToDataset: r.To.Dataset, ToVersion: r.To.Version, Activities: r.Activities, KgBefore: r.KgBefore, KgAfter: r.KgAfter,
		State: r.State, Message: r.Message, StartedAt: timestamppb.New(r.StartedAt), FinishedAt: timestamppb.New(r.FinishedAt),
	}
}

// WatchRecalculations streams a lab's year's pending and recent
// recalculations until none is pending.
func (f *Factors) WatchRecalculations(ctx context.Context, req *connect.Request[calcv1.WatchRecalculationsRequest], stream *connect.ServerStream[calcv1.WatchRecalculationsResponse]) error {
	var since time.Time
	if req.Msg.GetSince() != nil {
		since = req.Msg.GetSince().AsTime()
	}
	return f.watchers.Watch(ctx, req.Msg.GetLabId(), req.Msg.GetYear(), since, func(watched recalcbus.Watched) error {
		res := &calcv1.WatchRecalculationsResponse{}
		for _, p := range watched.Pending {
			res.Pending = append(res.Pending, &calcv1.PendingRecalculation{LabId: p.LabID.String(), Year: p.Year, Kind: p.Kind, RequestedAt: timestamppb.New(p.RequestedAt)})
		}
		for _, r := range watched.Recalculations {
			res.Recalculations = append(res.Recalculations, recalculationToProto(r))
		}
		return stream.Send(res)
	})
}

func (f *Factors) ListSupersededEmissions(ctx context.Context, req *connect.Request[calcv1.ListSupersededEmissionsRequest]) (*connect.Response[calcv1.ListSupersededEmissionsResponse], error) {
	emissions, err := f.history.Superseded(ctx, req.Msg.GetActivityId())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListSupersededEmissionsResponse{}
	for _, e := range emissions {
		var factorID string
		if e.FactorID != [16]byte{} {
			factorID = e.FactorID.String()
		}
		res.Emissions = append(res.Emissions, &calcv1.SupersededEmission{
			RecalculationId: e.RecalculationID.String(), SupersededAt: timestamppb.New(e.SupersededAt), Variant: e.Variant,
			EmissionType: e.EmissionType, Scope: int32(e.Scope), Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCo2E: e.KgCO2e, FactorId: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct,
		})
	}
	return connect.NewResponse(res), nil
}

func datasetToProto(v datasetbus.DatasetVersion) *calcv1.FactorDataset {
	dataset := &calcv1.FactorDataset{
		Dataset: v.Dataset, Version: v.Version, Factors: v.Factors, FirstYear: v.FirstYear, LastYear: v.LastYear,
		Licences: v.Licences, Active: v.Active, ActiveYears: v.ActiveYears, State: v.State, Message: v.Message,
		Description: v.Description, CreatedBy: v.CreatedBy, RowsTotal: v.RowsTotal, RowsRejected: v.RowsRejected,
		FileSha256: v.FileSHA256,
	}
	if !v.CreatedAt.IsZero() {
		dataset.CreatedAt = timestamppb.New(v.CreatedAt)
	}
	for _, e := range v.Errors {
		dataset.Errors = append(dataset.Errors, &calcv1.FactorRowError{Line: e.Row, Column: e.Column, Message: e.Message})
	}
	return dataset
}

func activationToProto(a datasetbus.Activation) *calcv1.FactorActivation {
	return &calcv1.FactorActivation{
		Year: a.Year, Dataset: a.Dataset, Version: a.Version, ActivatedBy: a.ActivatedBy, ActivatedAt: timestamppb.New(a.ActivatedAt),
	}
}

func factorToProto(f factors.Factor) *calcv1.Factor {
	return &calcv1.Factor{
		Id: f.ID.String(), Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType,
		Classification: f.Classification, Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit,
		Source: f.Source, Licence: f.Licence, GwpSet: f.GWPSet, Boundary: f.Boundary,
		RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
	}
}
