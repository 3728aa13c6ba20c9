package reportingbus

import (
	"math"
	"slices"
	"testing"
	"time"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

const labA, labB = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"

// fixture: lab A (and its sub-lab B) in 2025 and 2024.
//
//	2025 A: equipment electricity scope 2: 1000 kg ± 30 (location), 400 kg market-based; 4 emissions, 1 fallback
//	        plane scope 3: 600 kg ± 40, without_rf 300 kg; 2 emissions, 1 overridden
//	        headcount: 4 FTE
//	2025 B: stationary combustion scope 1: 200 kg ± 0 (no factor version: overridden)
//	2024 A: equipment 1500 kg
func fixture() ReportData {
	r := func(lab string, year int32, module, emissionType string, scope int32, variant, version, unit string, quantity, kg, unc float64, entries, overridden, fallback int64) *calcv1.Rollup {
		dataset := ""
		if version != "" {
			dataset = "default"
		}
		return &calcv1.Rollup{LabId: lab, Year: year, Module: module, EmissionType: emissionType, Scope: scope, Variant: variant,
			FactorDataset: dataset, FactorVersion: version, QuantityUnit: unit, Quantity: quantity, KgCo2E: kg,
			UncertaintySq: unc * unc, Entries: entries, Overridden: overridden, Fallback: fallback}
	}
	return ReportData{
		Rollups: []*calcv1.Rollup{
			r(labA, 2025, "equipment", "electricity", 2, "", "2025.1", "kWh", 10000, 1000, 30, 4, 0, 1),
			r(labA, 2025, "equipment", "electricity", 2, "market_based", "2025.1", "kWh", 10000, 400, 10, 4, 0, 1),
			r(labA, 2025, "professional_travel", "plane", 3, "", "2025.1", "km", 3000, 600, 40, 2, 1, 0),
			r(labA, 2025, "professional_travel", "plane", 3, "without_rf", "2025.1", "km", 3000, 300, 20, 2, 1, 0),
			r(labA, 2025, "headcount", "fte", 0, "", "", "FTE", 4, 0, 0, 3, 0, 0),
			r(labB, 2025, "buildings", "heating_oil", 1, "", "", "L", 75, 200, 0, 1, 1, 0),
			r(labA, 2024, "equipment", "electricity", 2, "", "2024.1", "kWh", 15000, 1500, 0, 5, 0, 0),
		},
		ActivityCounts: []*calcv1.ActivityCount{
			{LabId: labA, Year: 2025, Module: "equipment", Kind: "equipment", Source: "csv", Activities: 3},
			{LabId: labA, Year: 2025, Module: "equipment", Kind: "equipment", Source: "entry", Activities: 1},
			{LabId: labA, Year: 2025, Module: "professional_travel", Kind: "plane", Source: "entry", Activities: 2},
			{LabId: labA, Year: 2025, Module: "headcount", Kind: "member", Source: "csv", Activities: 3},
			{LabId: labB, Year: 2025, Module: "buildings", Kind: "energy_combustion", Source: "entry", Activities: 1},
			{LabId: labA, Year: 2024, Module: "equipment", Kind: "equipment", Source: "csv", Activities: 5},
		},
		ImportCounts: []*calcv1.ImportCount{{LabId: labA, Year: 2025, Imports: 2}, {LabId: labA, Year: 2024, Imports: 1}},
	}
}

func TestBuildReportHandComputed(t *testing.T) {
	report := BuildReport([]string{labA, labB}, 2025, true, fixture(), time.Unix(0, 0))
	// Total: 1000 + 600 + 200 = 1800 kg; uncertainty sqrt(30² + 40² + 0²) = 50.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"total kg", report.GetTotal().GetKgCo2E(), 1800},
		{"total t", report.GetTotal().GetTCo2E(), 1.8},
		{"total uncertainty", report.GetTotal().GetUncertaintyKg(), 50},
		{"total low", report.GetTotal().GetLowKgCo2E(), 1750},
		{"total high", report.GetTotal().GetHighKgCo2E(), 1850},
		{"scope 1", report.GetScope1().GetKgCo2E(), 200},
		{"scope 2 location", report.GetScope2LocationBased().GetKgCo2E(), 1000},
		{"scope 2 market", report.GetScope2MarketBased().GetKgCo2E(), 400},
		{"scope 2 market uncertainty", report.GetScope2MarketBased().GetUncertaintyKg(), 10},
		{"scope 3", report.GetScope3().GetKgCo2E(), 600},
		{"fte", report.GetFte(), 4},
		{"per fte", report.GetKgCo2EPerFte(), 450},
		{"car km", report.GetEquivalentCarKm(), 1800 / 0.2996},
		{"previous year", report.GetPreviousYear().GetKgCo2E(), 1500},
		{"change pct", report.GetChangePct(), 20},
		{"entries", float64(report.GetEntries()), 10},
		{"imports", float64(report.GetImports()), 2},
		// 7 emissions (4 + 2 + 1): 2 overridden (plane, heating oil), 1 fallback.
		{"overridden share", report.GetOverriddenShare(), 2.0 / 7},
		{"fallback share", report.GetFallbackShare(), 1.0 / 7},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	var modules []string
	for _, m := range report.GetModules() {
		modules = append(modules, m.GetModule())
	}
	// By total, descending; headcount has no emissions.
	if want := []string{"equipment", "professional_travel", "buildings", "headcount"}; !slices.Equal(modules, want) {
		t.Fatalf("modules %v, want %v", modules, want)
	}
	equipment := report.GetModules()[0]
	if equipment.GetEntries() != 4 || len(equipment.GetEmissionTypes()) != 1 ||
		equipment.GetEmissionTypes()[0].GetQuantity() != 10000 || equipment.GetEmissionTypes()[0].GetQuantityUnit() != "kWh" ||
		equipment.GetEmissionTypes()[0].GetTotal().GetKgCo2E() != 1000 {
		t.Fatalf("equipment: %v", equipment)
	}
	versions := report.GetFactorVersions()
	if len(versions) != 1 || versions[0].GetDataset() != "default" || versions[0].GetVersion() != "2025.1" || versions[0].GetEmissions() != 6 {
		t.Fatalf("factor versions: %v", versions)
	}
}

func TestBuildReportWithoutHeadcountOrPreviousYear(t *testing.T) {
	data := fixture()
	report := BuildReport([]string{labB}, 2025, false, ReportData{Rollups: data.Rollups[5:6]}, time.Unix(0, 0))
	if report.KgCo2EPerFte != nil || report.PreviousYear != nil || report.ChangePct != nil {
		t.Fatalf("per FTE %v, previous %v, change %v: want none", report.KgCo2EPerFte, report.PreviousYear, report.ChangePct)
	}
	if report.GetTotal().GetKgCo2E() != 200 || report.GetScope1().GetKgCo2E() != 200 {
		t.Fatalf("total %v", report.GetTotal())
	}
}

func TestBuildYearsAndRanking(t *testing.T) {
	years := BuildYears(labA, []int32{2024, 2025}, fixture().Rollups)
	if len(years.GetYears()) != 2 || years.GetYears()[0].GetTotal().GetKgCo2E() != 1500 || years.GetYears()[1].GetTotal().GetKgCo2E() != 1800 ||
		years.GetYears()[0].ChangePct != nil || !near(years.GetYears()[1].GetChangePct(), 20) {
		t.Fatalf("years %v", years)
	}
	ranking := BuildRanking(2025, []*calcv1.LabTotals{
		{LabId: labA, KgCo2E: 1600, Fte: 4},
		{LabId: labB, KgCo2E: 200, Fte: 0.25},
	}, map[string]LabName{labA: {Code: "A", Name: "Lab A"}, labB: {Code: "B", Name: "Lab B"}})
	a, b := ranking.GetLabs()[0], ranking.GetLabs()[1]
	// A emits more in total (rank 1) but less per FTE: 400 against 800.
	if a.GetLabCode() != "A" || a.GetRank() != 1 || a.GetRankPerFte() != 2 || a.GetKgCo2EPerFte() != 400 ||
		b.GetRank() != 2 || b.GetRankPerFte() != 1 || b.GetKgCo2EPerFte() != 800 {
		t.Fatalf("ranking %v", ranking)
	}
}
