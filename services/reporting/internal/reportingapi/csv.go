package reportingapi

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
)

// reportColumns are the columns of a report as CSV: one row per figure.
// Amounts fill kg_co2e to high_kg_co2e; other figures fill value and unit;
// detail names a factor dataset version.
var reportColumns = []string{
	"metric", "module", "emission_type", "scope", "kg_co2e", "t_co2e", "uncertainty_kg", "low_kg_co2e",
	"high_kg_co2e", "value", "unit", "detail",
}

// ReportCSV writes report as CSV.
func ReportCSV(report *reportingv1.Report) ([]byte, error) {
	var buf bytes.Buffer
	w := csvout.NewWriter(&buf)
	amount := func(metric, module, emissionType, scope string, t *reportingv1.Total, value, unit string, detail ...string) error {
		return w.Write(metric, module, emissionType, scope, csvout.Float(t.GetKgCo2E()), csvout.Float(t.GetTCo2E()),
			csvout.Float(t.GetUncertaintyKg()), csvout.Float(t.GetLowKgCo2E()), csvout.Float(t.GetHighKgCo2E()), value, unit,
			strings.Join(detail, ""))
	}
	figure := func(metric string, value, unit, detail string) error {
		return w.Write(metric, "", "", "", "", "", "", "", "", value, unit, detail)
	}
	optional := func(v *float64) string {
		if v == nil {
			return ""
		}
		return csvout.Float(*v)
	}
	steps := []func() error{
		func() error { return w.Write(reportColumns...) },
		func() error { return amount("total", "", "", "", report.GetTotal(), "", "") },
		func() error { return amount("scope", "", "", "1", report.GetScope1(), "", "") },
		func() error {
			return amount("scope", "", "", "2", report.GetScope2LocationBased(), "", "", "location_based")
		},
		func() error {
			return amount("scope", "", "", "2", report.GetScope2MarketBased(), "", "", "market_based")
		},
		func() error { return amount("scope", "", "", "3", report.GetScope3(), "", "") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	for _, m := range report.GetModules() {
		if err := amount("module", m.GetModule(), "", "", m.GetTotal(), strconv.FormatInt(m.GetEntries(), 10), "entries"); err != nil {
			return nil, err
		}
		for _, t := range m.GetEmissionTypes() {
			if err := amount("emission_type", m.GetModule(), t.GetEmissionType(), strconv.Itoa(int(t.GetScope())), t.GetTotal(),
				csvout.Float(t.GetQuantity()), t.GetQuantityUnit()); err != nil {
				return nil, err
			}
		}
	}
	if report.GetPreviousYear() != nil {
		if err := amount("previous_year", "", "", "", report.GetPreviousYear(), strconv.Itoa(int(report.GetYear()-1)), "year"); err != nil {
			return nil, err
		}
	}
	figures := [][4]string{
		{"fte", csvout.Float(report.GetFte()), "FTE", ""},
		{"kg_co2e_per_fte", optional(report.KgCo2EPerFte), "kg CO2e/FTE", ""},
		{"equivalent_car_km", csvout.Float(report.GetEquivalentCarKm()), "km", ""},
		{"change_pct", optional(report.ChangePct), "%", ""},
		{"entries", strconv.FormatInt(report.GetEntries(), 10), "entries", ""},
		{"imports", strconv.FormatInt(report.GetImports(), 10), "imports", ""},
		{"overridden_share", csvout.Float(report.GetOverriddenShare()), "share", ""},
		{"fallback_share", csvout.Float(report.GetFallbackShare()), "share", ""},
	}
	for _, v := range report.GetFactorVersions() {
		figures = append(figures, [4]string{"factor_version", strconv.FormatInt(v.GetEmissions(), 10), "emissions", v.GetDataset() + " " + v.GetVersion()})
	}
	for _, f := range figures {
		if err := figure(f[0], f[1], f[2], f[3]); err != nil {
			return nil, err
		}
	}
	// Where the year stands against the lab's objective (the JSON's
	// objective): what it allows, the gap, on track, and why it is flagged.
	if p := report.GetObjective(); p != nil {
		year := strconv.Itoa(int(p.GetYear()))
		onTrack := ""
		if p.OnTrack != nil {
			onTrack = strconv.FormatBool(p.GetOnTrack())
		}
		figures = append(figures[:0],
			[4]string{"objective_reduction_pct", csvout.Float(p.GetReductionPct()), "%", fmt.Sprintf("baseline %d, target %d", p.GetBaselineYear(), p.GetTargetYear())},
			[4]string{"objective_allowed_kg_co2e", csvout.Float(p.GetAllowedKgCo2E()), "kg CO2e", year},
			[4]string{"objective_gap_kg_co2e", optional(p.GapKgCo2E), "kg CO2e", year},
			[4]string{"objective_gap_pct", optional(p.GapPct), "%", year},
			[4]string{"objective_on_track", onTrack, "", year},
			[4]string{"objective_flagged", strconv.FormatBool(p.GetFlagged()), "", strings.Join(p.GetReasons(), "; ")})
		for _, t := range append(p.GetModules(), p.GetScopes()...) {
			figures = append(figures, [4]string{"objective_target_gap_kg_co2e", csvout.Float(t.GetGapKgCo2E()), "kg CO2e",
				fmt.Sprintf("%s: allowed %s, actual %s", t.GetName(), csvout.Float(t.GetAllowedKgCo2E()), csvout.Float(t.GetActualKgCo2E()))})
		}
		for _, f := range figures {
			if err := figure(f[0], f[1], f[2], f[3]); err != nil {
				return nil, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RankingCSV writes a ranking as CSV.
func RankingCSV(ranking *reportingv1.LabRanking) ([]byte, error) {
	var buf bytes.Buffer
	w := csvout.NewWriter(&buf)
	if err := w.Write("rank", "lab_id", "lab_code", "lab_name", "kg_co2e", "t_co2e", "uncertainty_kg", "fte", "kg_co2e_per_fte", "rank_per_fte",
		"objective_allowed_kg_co2e", "objective_gap_kg_co2e", "objective_gap_pct", "objective_flagged", "rank_by_gap"); err != nil {
		return nil, err
	}
	for _, lab := range ranking.GetLabs() {
		perFTE, rankPerFTE := "", ""
		if lab.KgCo2EPerFte != nil {
			perFTE, rankPerFTE = csvout.Float(lab.GetKgCo2EPerFte()), strconv.Itoa(int(lab.GetRankPerFte()))
		}
		// Against the lab's objective, when it has one for the year.
		allowed, gap, gapPct, flagged, rankByGap := "", "", "", "", ""
		if p := lab.GetObjective(); p != nil {
			allowed, flagged = csvout.Float(p.GetAllowedKgCo2E()), strconv.FormatBool(p.GetFlagged())
			if p.GapKgCo2E != nil {
				gap = csvout.Float(p.GetGapKgCo2E())
			}
			if p.GapPct != nil {
				gapPct = csvout.Float(p.GetGapPct())
			}
		}
		if lab.GetRankByGap() > 0 {
			rankByGap = strconv.Itoa(int(lab.GetRankByGap()))
		}
		if err := w.Write(strconv.Itoa(int(lab.GetRank())), lab.GetLabId(), lab.GetLabCode(), lab.GetLabName(),
			csvout.Float(lab.GetTotal().GetKgCo2E()), csvout.Float(lab.GetTotal().GetTCo2E()),
			csvout.Float(lab.GetTotal().GetUncertaintyKg()), csvout.Float(lab.GetFte()), perFTE, rankPerFTE,
			allowed, gap, gapPct, flagged, rankByGap); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
