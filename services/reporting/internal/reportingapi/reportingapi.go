// Package reportingapi is the Connect handler of ReportService: requests in,
// reports out as JSON, CSV, SVG or ZIP bodies (google.api.HttpBody, which
// the gateway serves as they are).
package reportingapi

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/auditbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/charts"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/objectivebus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// Content types of the bodies.
const (
	contentJSON = "application/json"
	contentCSV  = "text/csv; charset=utf-8"
	contentSVG  = "image/svg+xml"
	contentZIP  = "application/zip"
)

// Handler implements ReportService.
type Handler struct {
	reports    *reportingbus.Reports
	objectives *objectivebus.Objectives
	exports    *exportbus.Exports
	watchers   *exportbus.Watchers
	trail      *auditbus.Trail
	scenarios  reportingbus.Scenarios
}

var _ reportingv1connect.ReportServiceHandler = (*Handler)(nil)

// New returns the handler.
func New(reports *reportingbus.Reports, objectives *objectivebus.Objectives, exports *exportbus.Exports, watchers *exportbus.Watchers, trail *auditbus.Trail, scenarios reportingbus.Scenarios) *Handler {
	return &Handler{reports: reports, objectives: objectives, exports: exports, watchers: watchers, trail: trail, scenarios: scenarios}
}

var jsonOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// format checks a format parameter against the allowed ones ("" is the
// first).
func format(value string, allowed ...string) (string, error) {
	if value == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if value == a {
			return value, nil
		}
	}
	return "", apperr.Invalid("format", "%q is not a format of this report: give one of %v", value, allowed)
}

func body(contentType string, data []byte) *connect.Response[httpbody.HttpBody] {
	return connect.NewResponse(&httpbody.HttpBody{ContentType: contentType, Data: data})
}

func jsonBody(msg proto.Message) (*connect.Response[httpbody.HttpBody], error) {
	data, err := jsonOptions.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return body(contentJSON, data), nil
}

func (h *Handler) GetReport(ctx context.Context, req *connect.Request[reportingv1.GetReportRequest]) (*connect.Response[httpbody.HttpBody], error) {
	msg := req.Msg
	f, err := format(msg.GetFormat(), "json", "csv", "svg")
	if err != nil {
		return nil, err
	}
	if f == "svg" && msg.GetChart() != "" && msg.GetChart() != "modules" && msg.GetChart() != "scopes" {
		return nil, apperr.Invalid("chart", "%q is not a chart: give modules or scopes", msg.GetChart())
	}
	found, err := h.reports.Report(ctx, msg.GetLabId(), msg.GetYear(), msg.GetIncludeSublabs())
	if err != nil {
		return nil, err
	}
	report := reportToProto(found)
	progress, err := h.objectives.ProgressIn(ctx, found.LabIDs, found.IncludeSublabs, found.Year)
	if err != nil {
		return nil, err
	}
	report.Objective = progressToProto(progress)
	switch f {
	case "csv":
		data, err := ReportCSV(report)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentCSV, data), reportFilename(found, "", "csv")), nil
	case "svg":
		draw, chart := charts.Modules, "modules"
		if msg.GetChart() == "scopes" {
			draw, chart = charts.Scopes, "scopes"
		}
		data, err := draw(report)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentSVG, data), reportFilename(found, chart, "svg")), nil
	default:
		return jsonBody(report)
	}
}

// reportFilename names a report's file after its lab and year, for example
// co2-report-<lab id>-2025-scopes.svg (sub-labs included: -with-sublabs).
func reportFilename(report reportingbus.Report, chart, extension string) string {
	name := fmt.Sprintf("co2-report-%s-%d", report.LabID, report.Year)
	if report.IncludeSublabs {
		name += "-with-sublabs"
	}
	if chart != "" {
		name += "-" + chart
	}
	return name + "." + extension
}

// attachment marks a response as a file to save under filename (a name of
// ASCII letters, digits and dashes: no quoting needed).
func attachment[T any](res *connect.Response[T], filename string) *connect.Response[T] {
	res.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	return res
}

func (h *Handler) ListReportYears(ctx context.Context, req *connect.Request[reportingv1.ListReportYearsRequest]) (*connect.Response[httpbody.HttpBody], error) {
	msg := req.Msg
	f, err := format(msg.GetFormat(), "json", "svg")
	if err != nil {
		return nil, err
	}
	if f == "svg" && msg.GetChart() != "" && msg.GetChart() != "trend" && msg.GetChart() != "trajectory" {
		return nil, apperr.Invalid("chart", "%q is not a chart of the years: give trend or trajectory", msg.GetChart())
	}
	found, err := h.reports.Years(ctx, msg.GetLabId(), msg.GetIncludeSublabs())
	if err != nil {
		return nil, err
	}
	years := yearsToProto(found)
	trajectory, err := h.objectives.TrajectoryOf(ctx, msg.GetLabId(), msg.GetIncludeSublabs())
	if err != nil {
		return nil, err
	}
	if trajectory != nil {
		years.Objective = trajectoryToProto(*trajectory)
		for _, year := range years.Years {
			for _, progress := range years.Objective.Years {
				if progress.GetYear() == year.GetYear() {
					year.Objective = progress
				}
			}
		}
	}
	if f == "svg" {
		if msg.GetChart() == "trajectory" {
			if years.Objective == nil {
				return nil, apperr.NotFound("lab %s has no objective counting the labs this asks for (include_sublabs=%t): set one, or ask for the trend chart",
					msg.GetLabId(), msg.GetIncludeSublabs())
			}
			data, err := charts.Trajectory("Emissions against the objective", years.Objective)
			if err != nil {
				return nil, err
			}
			return attachment(body(contentSVG, data), fmt.Sprintf("co2-report-%s-trajectory.svg", msg.GetLabId())), nil
		}
		data, err := charts.Trend(years)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentSVG, data), fmt.Sprintf("co2-report-%s-years.svg", msg.GetLabId())), nil
	}
	return jsonBody(years)
}

func (h *Handler) ListLabRanking(ctx context.Context, req *connect.Request[reportingv1.ListLabRankingRequest]) (*connect.Response[httpbody.HttpBody], error) {
	f, err := format(req.Msg.GetFormat(), "json", "csv")
	if err != nil {
		return nil, err
	}
	found, err := h.reports.Ranking(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	ranking := rankingToProto(found)
	if err := h.rankByGap(ctx, ranking); err != nil {
		return nil, err
	}
	if f == "csv" {
		data, err := RankingCSV(ranking)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentCSV, data), fmt.Sprintf("co2-ranking-%d.csv", req.Msg.GetYear())), nil
	}
	return jsonBody(ranking)
}

// rankByGap adds each lab's progress against its objective to ranking,
// its place by its gap, and the institution's progress. The caller may see
// every lab (Ranking checked).
func (h *Handler) rankByGap(ctx context.Context, ranking *reportingv1.LabRanking) error {
	progresses, err := h.objectives.Progresses(ctx, ranking.GetYear(), func(string) bool { return true })
	if err != nil {
		return err
	}
	place := map[string]int{}
	for i, p := range progresses {
		place[p.LabID] = i
	}
	for _, lab := range ranking.Labs {
		if i, ok := place[lab.GetLabId()]; ok {
			lab.Objective = progressToProto(&progresses[i].Progress)
			if progresses[i].Progress.GapPct != nil {
				lab.RankByGap = int32(i + 1)
			}
		}
	}
	institution, err := h.objectives.InstitutionProgress(ctx, ranking.GetYear())
	if err != nil {
		return err
	}
	ranking.Institution = progressToProto(institution)
	return nil
}

func (h *Handler) CreateExport(ctx context.Context, req *connect.Request[reportingv1.CreateExportRequest]) (*connect.Response[reportingv1.CreateExportResponse], error) {
	export, err := h.exports.Create(ctx, req.Msg.GetLabId(), req.Msg.GetYear(), req.Msg.GetIncludeSublabs())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&reportingv1.CreateExportResponse{Export: exportToProto(export)}), nil
}

func (h *Handler) GetExport(ctx context.Context, req *connect.Request[reportingv1.GetExportRequest]) (*connect.Response[reportingv1.GetExportResponse], error) {
	export, err := h.exports.Get(ctx, req.Msg.GetLabId(), req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&reportingv1.GetExportResponse{Export: exportToProto(export)}), nil
}

// WatchExport streams the export as GetExport answers it, until it ends.
func (h *Handler) WatchExport(ctx context.Context, req *connect.Request[reportingv1.WatchExportRequest], stream *connect.ServerStream[reportingv1.WatchExportResponse]) error {
	return h.watchers.Watch(ctx, req.Msg.GetLabId(), req.Msg.GetId(), func(export exportbus.Export) error {
		return stream.Send(&reportingv1.WatchExportResponse{Export: exportToProto(export)})
	})
}

func (h *Handler) DownloadExport(ctx context.Context, req *connect.Request[reportingv1.DownloadExportRequest], stream *connect.ServerStream[httpbody.HttpBody]) error {
	first := true
	return h.exports.Download(ctx, req.Msg.GetLabId(), req.Msg.GetId(), func(chunk []byte) error {
		msg := &httpbody.HttpBody{Data: chunk}
		if first {
			msg.ContentType = contentZIP
			stream.ResponseHeader().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="export-%s.zip"`, req.Msg.GetId()))
			first = false
		}
		return stream.Send(msg)
	})
}

func exportToProto(e exportbus.Export) *reportingv1.Export {
	out := &reportingv1.Export{
		Id: e.ID.String(), LabId: e.LabID.String(), Year: e.Year, IncludeSublabs: e.IncludeSublabs, Status: e.Status,
		Error: e.Error, Rows: e.Rows, SizeBytes: e.SizeBytes, CreatedBy: e.CreatedBy, CreatedAt: timestamppb.New(e.CreatedAt),
	}
	if e.FinishedAt != nil {
		out.FinishedAt = timestamppb.New(*e.FinishedAt)
	}
	if e.ExpiresAt != nil {
		out.ExpiresAt = timestamppb.New(*e.ExpiresAt)
	}
	if e.Status == exportbus.ExportDone {
		out.DownloadUrl = fmt.Sprintf("/api/v1/reports/%s/exports/%s:download", e.LabID, e.ID)
	}
	return out
}
