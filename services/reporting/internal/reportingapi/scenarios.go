package reportingapi

import (
	"bytes"
	"context"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/charts"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

func (h *Handler) GetScenarioReport(ctx context.Context, req *connect.Request[reportingv1.GetScenarioReportRequest]) (*connect.Response[httpbody.HttpBody], error) {
	msg := req.Msg
	f, err := format(msg.GetFormat(), "json", "csv", "svg")
	if err != nil {
		return nil, err
	}
	found, err := h.reports.CompareScenario(ctx, h.scenarios, msg.GetLabId(), msg.GetScenarioId())
	if err != nil {
		return nil, err
	}
	report := scenarioReportToProto(found)
	actual, _, err := h.objectives.ScenarioProgress(ctx, found.Scenario.LabID, found.Scenario.Year, found.Actual)
	if err != nil {
		return nil, err
	}
	scenario, target, err := h.objectives.ScenarioProgress(ctx, found.Scenario.LabID, found.Scenario.Year, found.Scenario.Rollups)
	if err != nil {
		return nil, err
	}
	report.ActualObjective, report.ScenarioObjective = progressToProto(actual), progressToProto(scenario)
	if target != nil {
		meets := found.Total.ScenarioKg <= *target+1e-9
		report.TargetAllowedKgCo2E, report.ScenarioMeetsTarget = target, &meets
	}
	filename := fmt.Sprintf("co2-scenario-%s-%d-%s", found.Scenario.LabID, found.Scenario.Year, found.Scenario.ID)
	switch f {
	case "csv":
		data, err := ScenarioCSV(report)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentCSV, data), filename+".csv"), nil
	case "svg":
		data, err := charts.Scenario(report)
		if err != nil {
			return nil, err
		}
		return attachment(body(contentSVG, data), filename+".svg"), nil
	default:
		return jsonBody(report)
	}
}

func comparisonToProto(c reportingbus.Comparison) *reportingv1.Comparison {
	return &reportingv1.Comparison{ActualKgCo2E: c.ActualKg, ScenarioKgCo2E: c.ScenarioKg, DifferenceKgCo2E: c.DifferenceKg, DifferencePct: c.DifferencePct}
}

func scenarioReportToProto(c reportingbus.ScenarioComparison) *reportingv1.ScenarioReport {
	out := &reportingv1.ScenarioReport{
		LabId: c.Scenario.LabID, Year: c.Scenario.Year, ScenarioId: c.Scenario.ID, ScenarioName: c.Scenario.Name,
		ComputedAt: timestamppb.New(c.Scenario.ComputedAt), FactorDataset: c.Scenario.FactorDataset, FactorVersion: c.Scenario.FactorVersion,
		Total: comparisonToProto(c.Total), Scope1: comparisonToProto(c.Scope1), Scope2LocationBased: comparisonToProto(c.Scope2Location),
		Scope2MarketBased: comparisonToProto(c.Scope2Market), Scope3: comparisonToProto(c.Scope3),
		GeneratedAt: timestamppb.New(c.GeneratedAt),
	}
	for _, m := range c.Modules {
		out.Modules = append(out.Modules, &reportingv1.ModuleComparison{Module: m.Module, Comparison: comparisonToProto(m.Comparison)})
	}
	return out
}

// ScenarioCSV writes a scenario's report as CSV: one row per figure,
// actual and scenario side by side.
func ScenarioCSV(report *reportingv1.ScenarioReport) ([]byte, error) {
	var buf bytes.Buffer
	w := csvout.NewWriter(&buf)
	optional := func(v *float64) string {
		if v == nil {
			return ""
		}
		return csvout.Float(*v)
	}
	row := func(metric, module, scope, detail string, c *reportingv1.Comparison) error {
		return w.Write(metric, module, scope, detail, csvout.Float(c.GetActualKgCo2E()), csvout.Float(c.GetScenarioKgCo2E()),
			csvout.Float(c.GetDifferenceKgCo2E()), optional(c.DifferencePct))
	}
	rows := []func() error{
		func() error {
			return w.Write("metric", "module", "scope", "detail", "actual_kg_co2e", "scenario_kg_co2e", "difference_kg_co2e", "difference_pct")
		},
		func() error { return row("total", "", "", "", report.GetTotal()) },
		func() error { return row("scope", "", "1", "", report.GetScope1()) },
		func() error { return row("scope", "", "2", "location_based", report.GetScope2LocationBased()) },
		func() error { return row("scope", "", "2", "market_based", report.GetScope2MarketBased()) },
		func() error { return row("scope", "", "3", "", report.GetScope3()) },
	}
	for _, m := range report.GetModules() {
		rows = append(rows, func() error { return row("module", m.GetModule(), "", "", m.GetComparison()) })
	}
	if a, s := report.GetActualObjective(), report.GetScenarioObjective(); a != nil && s != nil {
		rows = append(rows, func() error {
			allowed := a.GetAllowedKgCo2E()
			return w.Write("objective_allowed", "", "", fmt.Sprint(a.GetYear()), csvout.Float(allowed), csvout.Float(allowed), "", "")
		}, func() error {
			return w.Write("objective_gap", "", "", fmt.Sprint(a.GetYear()), optional(a.GapKgCo2E), optional(s.GapKgCo2E), "", "")
		}, func() error {
			return w.Write("objective_on_track", "", "", fmt.Sprint(a.GetYear()), fmt.Sprint(a.GetOnTrack()), fmt.Sprint(s.GetOnTrack()), "", "")
		}, func() error {
			return w.Write("objective_target_allowed", "", "", fmt.Sprint(a.GetTargetYear()), "", optional(report.TargetAllowedKgCo2E), "",
				fmt.Sprintf("meets target: %t", report.GetScenarioMeetsTarget()))
		})
	}
	for _, write := range rows {
		if err := write(); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
