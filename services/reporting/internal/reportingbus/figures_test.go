package reportingbus

import (
	"math"
	"slices"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// value is an optional figure, 0 when absent.
func value(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

const labA, labB = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"

// fixture: lab A (and its sub-lab B) in 2025 and 2024.
//
//	2025 A: equipment electricity scope 2: 1000 kg ± 30 (location), 400 kg market-based; 4 emissions, 1 fallback
//	        plane scope 3: 600 kg ± 40, without_rf 300 kg; 2 emissions, 1 overridden
//	        headcount: 4 FTE
//	2025 B: stationary combustion scope 1: 200 kg ± 0 (no factor version: overridden)
//	2024 A: equipment 1500 kg
func fixture() ReportData {
	r := func(lab string, year int32, module, emissionType string, scope int32, variant, version, unit string, quantity, kg, unc float64, entries, overridden, fallback int64) Rollup {
		dataset, factor := "", ""
		if version != "" {
			// A factor of its own per rollup: uncertainties independent
			// across them.
			dataset, factor = "default", "factor "+module+" "+emissionType+" "+variant
		}
		return Rollup{LabID: lab, Year: year, Module: module, EmissionType: emissionType, Scope: scope, Variant: variant,
			FactorDataset: dataset, FactorVersion: version, QuantityUnit: unit, FactorID: factor, Quantity: quantity, KgCO2e: kg,
			UncertaintySq: unc * unc, UncertaintyLinear: unc, Entries: entries, Overridden: overridden, Fallback: fallback}
	}
	return ReportData{
		Rollups: []Rollup{
			r(labA, 2025, "equipment", "electricity", 2, "", "2025.1", "kWh", 10000, 1000, 30, 4, 0, 1),
			r(labA, 2025, "equipment", "electricity", 2, "market_based", "2025.1", "kWh", 10000, 400, 10, 4, 0, 1),
			r(labA, 2025, "professional_travel", "plane", 3, "", "2025.1", "km", 3000, 600, 40, 2, 1, 0),
			r(labA, 2025, "professional_travel", "plane", 3, "without_rf", "2025.1", "km", 3000, 300, 20, 2, 1, 0),
			r(labA, 2025, "headcount", "fte", 0, "", "", "FTE", 4, 0, 0, 3, 0, 0),
			r(labB, 2025, "buildings", "heating_oil", 1, "", "", "L", 75, 200, 0, 1, 1, 0),
			r(labA, 2024, "equipment", "electricity", 2, "", "2024.1", "kWh", 15000, 1500, 0, 5, 0, 0),
		},
		ActivityCounts: []ActivityCount{
			{LabID: labA, Year: 2025, Module: "equipment", Kind: "equipment", Source: "csv", Activities: 3},
			{LabID: labA, Year: 2025, Module: "equipment", Kind: "equipment", Source: "entry", Activities: 1},
			{LabID: labA, Year: 2025, Module: "professional_travel", Kind: "plane", Source: "entry", Activities: 2},
			{LabID: labA, Year: 2025, Module: "headcount", Kind: "member", Source: "csv", Activities: 3},
			{LabID: labB, Year: 2025, Module: "buildings", Kind: "energy_combustion", Source: "entry", Activities: 1},
			{LabID: labA, Year: 2024, Module: "equipment", Kind: "equipment", Source: "csv", Activities: 5},
		},
		ImportCounts: []ImportCount{{LabID: labA, Year: 2025, Imports: 2}, {LabID: labA, Year: 2024, Imports: 1}},
	}
}

func TestBuildReportHandComputed(t *testing.T) {
	report := BuildReport([]string{labA, labB}, 2025, true, fixture(), time.Unix(0, 0))
	// Total: 1000 + 600 + 200 = 1800 kg; uncertainty sqrt(30² + 40² + 0²) = 50.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"total kg", report.Total.KgCO2e, 1800},
		{"total t", report.Total.TCO2e, 1.8},
		{"total uncertainty", report.Total.UncertaintyKg, 50},
		{"total low", report.Total.LowKgCO2e, 1750},
		{"total high", report.Total.HighKgCO2e, 1850},
		{"scope 1", report.Scope1.KgCO2e, 200},
		{"scope 2 location", report.Scope2LocationBased.KgCO2e, 1000},
		{"scope 2 market", report.Scope2MarketBased.KgCO2e, 400},
		{"scope 2 market uncertainty", report.Scope2MarketBased.UncertaintyKg, 10},
		{"scope 3", report.Scope3.KgCO2e, 600},
		{"fte", report.FTE, 4},
		{"per fte", value(report.KgCO2ePerFTE), 450},
		{"car km", report.EquivalentCarKm, 1800 / 0.2996},
		{"previous year", report.PreviousYear.KgCO2e, 1500},
		{"change pct", value(report.ChangePct), 20},
		{"entries", float64(report.Entries), 10},
		{"imports", float64(report.Imports), 2},
		// 7 emissions (4 + 2 + 1): 2 overridden (plane, heating oil), 1 fallback.
		{"overridden share", report.OverriddenShare, 2.0 / 7},
		{"fallback share", report.FallbackShare, 1.0 / 7},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	var modules []string
	for _, m := range report.Modules {
		modules = append(modules, m.Module)
	}
	// By total, descending; headcount has no emissions.
	if want := []string{"equipment", "professional_travel", "buildings", "headcount"}; !slices.Equal(modules, want) {
		t.Fatalf("modules %v, want %v", modules, want)
	}
	equipment := report.Modules[0]
	if equipment.Entries != 4 || len(equipment.EmissionTypes) != 1 ||
		equipment.EmissionTypes[0].Quantity != 10000 || equipment.EmissionTypes[0].QuantityUnit != "kWh" ||
		equipment.EmissionTypes[0].Total.KgCO2e != 1000 {
		t.Fatalf("equipment: %v", equipment)
	}
	versions := report.FactorVersions
	if len(versions) != 1 || versions[0].Dataset != "default" || versions[0].Version != "2025.1" || versions[0].Emissions != 6 {
		t.Fatalf("factor versions: %v", versions)
	}
}

func TestBuildReportWithoutHeadcountOrPreviousYear(t *testing.T) {
	data := fixture()
	report := BuildReport([]string{labB}, 2025, false, ReportData{Rollups: data.Rollups[5:6]}, time.Unix(0, 0))
	if report.KgCO2ePerFTE != nil || report.PreviousYear != nil || report.ChangePct != nil {
		t.Fatalf("per FTE %v, previous %v, change %v: want none", report.KgCO2ePerFTE, report.PreviousYear, report.ChangePct)
	}
	if report.Total.KgCO2e != 200 || report.Scope1.KgCO2e != 200 {
		t.Fatalf("total %v", report.Total)
	}
}

func TestBuildYearsAndRanking(t *testing.T) {
	years := BuildYears(labA, []int32{2024, 2025}, fixture().Rollups)
	if len(years.Years) != 2 || years.Years[0].Total.KgCO2e != 1500 || years.Years[1].Total.KgCO2e != 1800 ||
		years.Years[0].ChangePct != nil || !near(value(years.Years[1].ChangePct), 20) {
		t.Fatalf("years %v", years)
	}
	ranking := BuildRanking(2025, []LabTotals{
		{LabID: labA, KgCO2e: 1600, FTE: 4},
		{LabID: labB, KgCO2e: 200, FTE: 0.25},
	}, map[string]LabName{labA: {Code: "A", Name: "Lab A"}, labB: {Code: "B", Name: "Lab B"}})
	a, b := ranking.Labs[0], ranking.Labs[1]
	// A emits more in total (rank 1) but less per FTE: 400 against 800.
	if a.LabCode != "A" || a.Rank != 1 || a.RankPerFTE != 2 || value(a.KgCO2ePerFTE) != 400 ||
		b.Rank != 2 || b.RankPerFTE != 1 || value(b.KgCO2ePerFTE) != 800 {
		t.Fatalf("ranking %v", ranking)
	}
}

// A factor's uncertainty is shared by every emission computed with it
// (ADR 026): 10,000 rows on one factor carry 10,000 times one row's
// uncertainty, not 100 times; two modules on one grid factor add theirs;
// different factors and figures without one stay independent.
func TestAFactorsUncertaintyIsSharedByItsEmissions(t *testing.T) {
	const rowKg, pct = 12.5, 10.0
	rowUncertainty := rowKg * pct / 100
	var oneFactor Rollup
	for range 10_000 { // as calc sums them: one rollup
		oneFactor.KgCO2e += rowKg
		oneFactor.UncertaintySq += rowUncertainty * rowUncertainty
		oneFactor.UncertaintyLinear += rowUncertainty
	}
	oneFactor.LabID, oneFactor.Year, oneFactor.Module, oneFactor.EmissionType, oneFactor.Scope = labA, 2025, "equipment", "electricity", 2
	oneFactor.FactorDataset, oneFactor.FactorVersion, oneFactor.FactorID = "default", "2025.1", "grid-ch"
	report := BuildReport([]string{labA}, 2025, false, ReportData{Rollups: []Rollup{oneFactor}}, time.Now())
	if got, want := report.Total.UncertaintyKg, 10_000*rowUncertainty; !near(got, want) {
		t.Fatalf("10,000 rows on one factor: ± %g kg, want %g (10,000 × one row's %g)", got, want, rowUncertainty)
	}
	if report.UncertaintyMethod == "" {
		t.Fatal("the report does not say how it combined uncertainties")
	}

	rooms := Rollup{LabID: labA, Year: 2025, Module: "buildings", EmissionType: "electricity", Scope: 2, FactorDataset: "default",
		FactorVersion: "2025.1", FactorID: "grid-ch", KgCO2e: 500, UncertaintySq: 15 * 15, UncertaintyLinear: 15}
	equipment := Rollup{LabID: labA, Year: 2025, Module: "equipment", EmissionType: "electricity", Scope: 2, FactorDataset: "default",
		FactorVersion: "2025.1", FactorID: "grid-ch", KgCO2e: 1000, UncertaintySq: 30 * 30, UncertaintyLinear: 30}
	flights := Rollup{LabID: labA, Year: 2025, Module: "professional_travel", EmissionType: "plane", Scope: 3, FactorDataset: "default",
		FactorVersion: "2025.1", FactorID: "short-haul", KgCO2e: 600, UncertaintySq: 40 * 40, UncertaintyLinear: 40}
	override := Rollup{LabID: labA, Year: 2025, Module: "purchases", EmissionType: "purchase", Scope: 3, KgCO2e: 100, UncertaintySq: 9 * 9}
	report = BuildReport([]string{labA}, 2025, false, ReportData{Rollups: []Rollup{rooms, equipment, flights, override}}, time.Now())
	if got, want := report.Total.UncertaintyKg, math.Sqrt(45*45+40*40+9*9); !near(got, want) {
		t.Fatalf("two modules on one factor, another factor, an override: ± %g kg, want %g", got, want)
	}
	if got := report.Scope2LocationBased.UncertaintyKg; !near(got, 45) {
		t.Fatalf("scope 2 on one factor: ± %g kg, want 45", got)
	}
}
