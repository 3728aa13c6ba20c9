package calcapi

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatabus"
)

// exportBatch is how many emissions one streamed message carries.
const exportBatch = 500

// ReportData implements ReportDataService, the reporting service's
// read-only questions about labs' figures.
type ReportData struct {
	answers *reportdatabus.ReportData
}

var _ calcv1connect.ReportDataServiceHandler = (*ReportData)(nil)

// NewReportData returns the handler.
func NewReportData(answers *reportdatabus.ReportData) *ReportData {
	return &ReportData{answers: answers}
}

func (r *ReportData) ListRollups(ctx context.Context, req *connect.Request[calcv1.ListRollupsRequest]) (*connect.Response[calcv1.ListRollupsResponse], error) {
	figures, err := r.answers.Figures(ctx, req.Msg.GetLabIds(), req.Msg.GetYears())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListRollupsResponse{
		Rollups:        make([]*calcv1.Rollup, 0, len(figures.Rollups)),
		ActivityCounts: make([]*calcv1.ActivityCount, 0, len(figures.ActivityCounts)),
		ImportCounts:   make([]*calcv1.ImportCount, 0, len(figures.ImportCounts)),
	}
	for _, row := range figures.Rollups {
		res.Rollups = append(res.Rollups, &calcv1.Rollup{
			LabId: row.LabID.String(), Year: row.Year, Module: row.Module, EmissionType: row.EmissionType,
			Scope: int32(row.Scope), Variant: row.Variant, FactorDataset: row.FactorDataset,
			FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit, Quantity: row.Quantity,
			KgCo2E: row.KgCO2e, UncertaintySq: row.UncertaintySq, Entries: row.Entries,
			FactorId: factorIDText(row.FactorID), UncertaintyLinear: row.UncertaintyLinear,
			Overridden: row.Overridden, Fallback: row.Fallback,
		})
	}
	for _, row := range figures.ActivityCounts {
		res.ActivityCounts = append(res.ActivityCounts, &calcv1.ActivityCount{
			LabId: row.LabID.String(), Year: row.Year, Module: row.Module, Kind: row.Kind, Source: row.Source,
			Activities: row.Activities,
		})
	}
	for _, row := range figures.Validated {
		res.Validated = append(res.Validated, &calcv1.ValidatedTotal{LabId: row.LabID.String(), Year: row.Year, Module: row.Module,
			KgCo2E: row.KgCO2e, Activities: row.Activities})
	}
	for _, row := range figures.ImportCounts {
		res.ImportCounts = append(res.ImportCounts, &calcv1.ImportCount{LabId: row.LabID.String(), Year: row.Year, Imports: row.Imports})
	}
	return connect.NewResponse(res), nil
}

func (r *ReportData) ListLabYears(ctx context.Context, req *connect.Request[calcv1.ListLabYearsRequest]) (*connect.Response[calcv1.ListLabYearsResponse], error) {
	years, err := r.answers.LabYears(ctx, req.Msg.GetLabIds())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ListLabYearsResponse{Years: years}), nil
}

func (r *ReportData) YearTotals(ctx context.Context, req *connect.Request[calcv1.YearTotalsRequest]) (*connect.Response[calcv1.YearTotalsResponse], error) {
	totals, err := r.answers.YearTotals(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	res := &calcv1.YearTotalsResponse{Labs: make([]*calcv1.LabTotals, 0, len(totals))}
	for _, row := range totals {
		res.Labs = append(res.Labs, &calcv1.LabTotals{
			LabId: row.LabID.String(), KgCo2E: row.KgCO2e, UncertaintySq: row.UncertaintySq, Fte: row.FTE, Entries: row.Entries,
		})
	}
	return connect.NewResponse(res), nil
}

func (r *ReportData) ListActivitiesForExport(ctx context.Context, req *connect.Request[calcv1.ListActivitiesForExportRequest], stream *connect.ServerStream[calcv1.ListActivitiesForExportResponse]) error {
	batch := &calcv1.ListActivitiesForExportResponse{}
	flush := func() error {
		if len(batch.Rows) == 0 {
			return nil
		}
		if err := stream.Send(batch); err != nil {
			return err
		}
		batch = &calcv1.ListActivitiesForExportResponse{Rows: make([]*calcv1.ExportRow, 0, exportBatch)}
		return nil
	}
	err := r.answers.ExportRows(ctx, req.Msg.GetLabIds(), req.Msg.GetYear(), func(row *reportdatabus.ExportRow) error {
		factorID := ""
		if row.FactorID != nil {
			factorID = row.FactorID.String()
		}
		batch.Rows = append(batch.Rows, &calcv1.ExportRow{
			ActivityId: row.ActivityID.String(), LabId: row.LabID.String(), Module: row.Module, Kind: row.Kind,
			Source: row.Source, RowNo: row.RowNo, InputsJson: row.InputsJSON, Variant: row.Variant,
			EmissionType: row.EmissionType, Scope: int32(row.Scope), Quantity: row.Quantity,
			QuantityUnit: row.QuantityUnit, KgCo2E: row.KgCO2e, FactorId: factorID, FactorDataset: row.FactorDataset,
			FactorVersion: row.FactorVersion, FactorValue: row.FactorValue, FactorUnit: row.FactorUnit,
			UncertaintyPct: row.UncertaintyPct, Overridden: row.Overridden, Fallback: row.Fallback,
		})
		if len(batch.Rows) >= exportBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// factorIDText is a rollup's factor on the wire: "" without one.
func factorIDText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
