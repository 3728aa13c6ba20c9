package calcapi

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Limits of one ReportDataService call.
const (
	maxReportLabs  = 1000
	maxReportYears = 100
	// exportBatch is how many emissions one streamed message carries.
	exportBatch = 500
)

// ReportData implements ReportDataService: read-only queries over the
// rollups and emissions for the reporting service. Its only rule is who may
// call it (the reporting service), so it reads the store directly.
type ReportData struct {
	queries *calcdb.Queries
}

var _ calcv1connect.ReportDataServiceHandler = (*ReportData)(nil)

// NewReportData returns the handler.
func NewReportData(queries *calcdb.Queries) *ReportData {
	return &ReportData{queries: queries}
}

func (r *ReportData) requireService(ctx context.Context) error {
	return authz.RequireService(ctx, "reporting")
}

func (r *ReportData) ListRollups(ctx context.Context, req *connect.Request[calcv1.ListRollupsRequest]) (*connect.Response[calcv1.ListRollupsResponse], error) {
	if err := r.requireService(ctx); err != nil {
		return nil, err
	}
	labIDs, err := parseLabIDs(req.Msg.GetLabIds())
	if err != nil {
		return nil, err
	}
	years := req.Msg.GetYears()
	if len(years) == 0 || len(years) > maxReportYears {
		return nil, apperr.Invalid("years", "give 1 to %d years (got %d)", maxReportYears, len(years))
	}
	rollups, err := r.queries.ReportRollups(ctx, calcdb.ReportRollupsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return nil, fmt.Errorf("list rollups: %w", err)
	}
	counts, err := r.queries.ReportActivityCounts(ctx, calcdb.ReportActivityCountsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return nil, fmt.Errorf("list activity counts: %w", err)
	}
	imports, err := r.queries.ReportImportCounts(ctx, calcdb.ReportImportCountsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return nil, fmt.Errorf("count imports: %w", err)
	}
	res := &calcv1.ListRollupsResponse{
		Rollups:        make([]*calcv1.Rollup, 0, len(rollups)),
		ActivityCounts: make([]*calcv1.ActivityCount, 0, len(counts)),
		ImportCounts:   make([]*calcv1.ImportCount, 0, len(imports)),
	}
	for _, row := range rollups {
		res.Rollups = append(res.Rollups, &calcv1.Rollup{
			LabId: row.LabID.String(), Year: row.Year, Module: row.Module, EmissionType: row.EmissionType,
			Scope: int32(row.Scope), Variant: row.Variant, FactorDataset: row.FactorDataset,
			FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit, Quantity: row.Quantity,
			KgCo2E: row.KgCo2e, UncertaintySq: row.UncertaintySq, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback,
		})
	}
	for _, row := range counts {
		res.ActivityCounts = append(res.ActivityCounts, &calcv1.ActivityCount{
			LabId: row.LabID.String(), Year: row.Year, Module: row.Module, Kind: row.Kind, Source: row.Source,
			Activities: row.Activities,
		})
	}
	for _, row := range imports {
		res.ImportCounts = append(res.ImportCounts, &calcv1.ImportCount{LabId: row.LabID.String(), Year: row.Year, Imports: row.Imports})
	}
	return connect.NewResponse(res), nil
}

func (r *ReportData) ListLabYears(ctx context.Context, req *connect.Request[calcv1.ListLabYearsRequest]) (*connect.Response[calcv1.ListLabYearsResponse], error) {
	if err := r.requireService(ctx); err != nil {
		return nil, err
	}
	labIDs, err := parseLabIDs(req.Msg.GetLabIds())
	if err != nil {
		return nil, err
	}
	years, err := r.queries.ReportLabYears(ctx, labIDs)
	if err != nil {
		return nil, fmt.Errorf("list lab years: %w", err)
	}
	return connect.NewResponse(&calcv1.ListLabYearsResponse{Years: years}), nil
}

func (r *ReportData) YearTotals(ctx context.Context, req *connect.Request[calcv1.YearTotalsRequest]) (*connect.Response[calcv1.YearTotalsResponse], error) {
	if err := r.requireService(ctx); err != nil {
		return nil, err
	}
	rows, err := r.queries.ReportYearTotals(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, fmt.Errorf("year totals: %w", err)
	}
	res := &calcv1.YearTotalsResponse{Labs: make([]*calcv1.LabTotals, 0, len(rows))}
	for _, row := range rows {
		res.Labs = append(res.Labs, &calcv1.LabTotals{
			LabId: row.LabID.String(), KgCo2E: row.KgCo2e, UncertaintySq: row.UncertaintySq, Fte: row.Fte, Entries: row.Entries,
		})
	}
	return connect.NewResponse(res), nil
}

func (r *ReportData) ListActivitiesForExport(ctx context.Context, req *connect.Request[calcv1.ListActivitiesForExportRequest], stream *connect.ServerStream[calcv1.ListActivitiesForExportResponse]) error {
	if err := r.requireService(ctx); err != nil {
		return err
	}
	labIDs, err := parseLabIDs(req.Msg.GetLabIds())
	if err != nil {
		return err
	}
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
	err = r.queries.StreamReportExportRows(ctx, calcdb.ReportExportRowsParams{LabIds: labIDs, Year: req.Msg.GetYear()}, func(row calcdb.ReportExportRowsRow) error {
		factorID := ""
		if row.FactorID != nil {
			factorID = row.FactorID.String()
		}
		batch.Rows = append(batch.Rows, &calcv1.ExportRow{
			ActivityId: row.ActivityID.String(), LabId: row.LabID.String(), Module: row.Module, Kind: row.Kind,
			Source: row.Source, RowNo: row.RowNo, InputsJson: row.InputsJson, Variant: row.Variant,
			EmissionType: row.EmissionType, Scope: int32(row.Scope), Quantity: row.Quantity,
			QuantityUnit: row.QuantityUnit, KgCo2E: row.KgCo2e, FactorId: factorID, FactorDataset: row.FactorDataset,
			FactorVersion: row.FactorVersion, FactorValue: row.FactorValue, FactorUnit: row.FactorUnit,
			UncertaintyPct: row.UncertaintyPct, Overridden: row.Overridden, Fallback: row.Fallback,
		})
		if len(batch.Rows) >= exportBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stream export rows: %w", err)
	}
	return flush()
}

func parseLabIDs(ids []string) ([]uuid.UUID, error) {
	if len(ids) == 0 || len(ids) > maxReportLabs {
		return nil, apperr.Invalid("lab_ids", "give 1 to %d lab ids (got %d)", maxReportLabs, len(ids))
	}
	labIDs := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		labID, err := uuid.Parse(id)
		if err != nil {
			return nil, apperr.Invalid("lab_ids", "%q is not a lab id (a UUID)", id)
		}
		labIDs = append(labIDs, labID)
	}
	return labIDs, nil
}
