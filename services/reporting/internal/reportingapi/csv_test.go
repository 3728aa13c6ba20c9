package reportingapi

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout/csvouttest"
)

func TestReportCSVReadsBack(t *testing.T) {
	perFTE := 450.0
	report := &reportingv1.Report{
		Year:    2025,
		Total:   &reportingv1.Total{KgCo2E: 1800, TCo2E: 1.8, UncertaintyKg: 50, LowKgCo2E: 1750, HighKgCo2E: 1850},
		Scope3:  &reportingv1.Total{KgCo2E: -12.5}, // a negative figure stays a number
		Modules: []*reportingv1.ModuleTotal{{Module: "equipment", Total: &reportingv1.Total{KgCo2E: 1800}, Entries: 4}},
		Fte:     4, KgCo2EPerFte: &perFTE,
		FactorVersions: []*reportingv1.FactorVersion{{Dataset: "=lab_contract", Version: "2025", Emissions: 3}},
	}
	raw, err := ReportCSV(report)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byMetric := map[string][]string{}
	for _, row := range rows[1:] {
		if len(row) != len(reportColumns) {
			t.Fatalf("row %v has %d cells, want %d", row, len(row), len(reportColumns))
		}
		byMetric[row[0]+row[3]] = row
	}
	for _, c := range []struct{ key, cell, want string }{
		{"total", byMetric["total"][4], "1800"},
		{"total t", byMetric["total"][5], "1.8"},
		{"total low", byMetric["total"][7], "1750"},
		{"scope 3", byMetric["scope3"][4], "-12.5"},
		{"module", byMetric["module"][1], "equipment"},
		{"module entries", byMetric["module"][9], "4"},
		{"per FTE", byMetric["kg_co2e_per_fte"][9], "450"},
		{"factor version", byMetric["factor_version"][11], "'=lab_contract 2025"},
	} {
		if c.cell != c.want {
			t.Errorf("%s: %q, want %q", c.key, c.cell, c.want)
		}
	}
}

func TestReportAndRankingCSVsRunNoFormula(t *testing.T) {
	report := &reportingv1.Report{
		Year:           2025,
		Total:          &reportingv1.Total{KgCo2E: -12.5},
		Modules:        []*reportingv1.ModuleTotal{{Module: "equipment", Total: &reportingv1.Total{KgCo2E: -3}, Entries: 1}},
		FactorVersions: []*reportingv1.FactorVersion{{Dataset: "grid", Version: "2025;=1+1", Emissions: 1}},
	}
	ranking := &reportingv1.LabRanking{Year: 2025, Labs: []*reportingv1.RankedLab{
		{Rank: 1, LabId: "a", LabCode: "A", LabName: "Lab;=1+1;", Total: &reportingv1.Total{KgCo2E: 10}},
		{Rank: 2, LabId: "b", LabCode: "B", LabName: "x|@SUM(A1)\t-2+3", Total: &reportingv1.Total{KgCo2E: -1}},
	}}
	reportCSV, err := ReportCSV(report)
	if err != nil {
		t.Fatal(err)
	}
	rankingCSV, err := RankingCSV(ranking)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"report": reportCSV, "ranking": rankingCSV} {
		if found := csvouttest.Formulas(raw); len(found) > 0 {
			t.Errorf("%s: %v", name, found)
		}
	}
	// The figures stay numbers.
	rows, err := csv.NewReader(bytes.NewReader(rankingCSV)).ReadAll()
	if err != nil || rows[1][3] != "Lab;'=1+1;" || rows[2][4] != "-1" {
		t.Fatalf("ranking %q, %v", rows, err)
	}
}

// The report's and the ranking's CSVs carry the objective's figures, as
// their JSON does.
func TestCSVsCarryTheObjective(t *testing.T) {
	gap, gapPct, onTrack := 300.0, 20.0, false
	progress := &reportingv1.ObjectiveProgress{
		Year: 2025, BaselineYear: 2024, TargetYear: 2030, ReductionPct: 8.3, AllowedKgCo2E: 1500,
		GapKgCo2E: &gap, GapPct: &gapPct, OnTrack: &onTrack, Flagged: true, Reasons: []string{"the total is over"},
	}
	raw, err := ReportCSV(&reportingv1.Report{Year: 2025, Total: &reportingv1.Total{KgCo2E: 1800}, Objective: progress})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byMetric := map[string][]string{}
	for _, row := range rows[1:] {
		byMetric[row[0]] = row
	}
	for metric, want := range map[string][2]string{
		"objective_allowed_kg_co2e": {"1500", "2025"}, "objective_gap_kg_co2e": {"300", "2025"},
		"objective_on_track": {"false", "2025"}, "objective_flagged": {"true", "the total is over"},
	} {
		if row := byMetric[metric]; row == nil || row[9] != want[0] || row[11] != want[1] {
			t.Errorf("%s: %v, want value %q detail %q", metric, row, want[0], want[1])
		}
	}
	raw, err = RankingCSV(&reportingv1.LabRanking{Year: 2025, Labs: []*reportingv1.RankedLab{
		{Rank: 1, LabId: "a", Total: &reportingv1.Total{KgCo2E: 1800}, Objective: progress, RankByGap: 1},
		{Rank: 2, LabId: "b", Total: &reportingv1.Total{KgCo2E: 900}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1][10:]; strings.Join(got, ",") != "1500,300,20,true,1" {
		t.Errorf("lab with an objective: %v", got)
	}
	if got := rows[2][10:]; strings.Join(got, ",") != ",,,," {
		t.Errorf("lab without one: %v", got)
	}
}
