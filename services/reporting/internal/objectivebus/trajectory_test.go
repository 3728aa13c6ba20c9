package objectivebus

import (
	"math"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

func TestTheTrajectoryIsLinearBetweenMilestones(t *testing.T) {
	o := Objective{BaselineYear: 2024, TargetYear: 2030, ReductionPct: 50, Milestones: map[int32]float64{2026: 20}}
	for year, want := range map[int32]float64{2023: 0, 2024: 0, 2025: 10, 2026: 20, 2027: 27.5, 2029: 42.5, 2030: 50, 2035: 50} {
		if got := o.reductionAt(year); math.Abs(got-want) > 1e-9 {
			t.Errorf("%d: %v %%, want %v", year, got, want)
		}
	}
	o.Milestones = nil
	if got := o.reductionAt(2027); math.Abs(got-25) > 1e-9 {
		t.Errorf("without milestones 2027 asks for %v %%, want 25 (linear)", got)
	}
}

func TestAYearIsFlaggedOverItsMarginOnly(t *testing.T) {
	o := Objective{BaselineYear: 2024, TargetYear: 2030, ReductionPct: 60, AlertMarginPct: 5, ModuleReductions: map[string]float64{"equipment": 30}}
	baseline := Figures{HasData: true, TotalKg: 1000, ModuleKg: map[string]float64{"equipment": 600, "purchases": 400}}
	// 2027 allows 1000 × (1 - 30 %) = 700 kg; 5 % over is 735 kg.
	for _, c := range []struct {
		name    string
		total   float64
		onTrack bool
		flagged bool
	}{
		{"under", 650, true, false},
		{"on the line", 700, true, false},
		{"over, within the margin", 730, false, false},
		{"over the margin", 740, false, true},
	} {
		// The module keeps to its own objective (-15 % by 2027: 510 kg).
		current := Figures{HasData: true, TotalKg: c.total, ModuleKg: map[string]float64{"equipment": 500, "purchases": c.total - 500}}
		p := o.ProgressOf(2027, baseline, &current)
		if math.Abs(p.AllowedKg-700) > 1e-9 || *p.GapKg != c.total-700 {
			t.Fatalf("%s: allowed %v, gap %v", c.name, p.AllowedKg, *p.GapKg)
		}
		if *p.OnTrack != c.onTrack || p.Flagged != c.flagged {
			t.Errorf("%s (%v kg): on track %v, flagged %v; want %v, %v (%v)", c.name, c.total, *p.OnTrack, p.Flagged, c.onTrack, c.flagged, p.Reasons)
		}
	}
	// Under overall, but the module over its own objective: flagged.
	current := Figures{HasData: true, TotalKg: 650, ModuleKg: map[string]float64{"equipment": 600, "purchases": 50}}
	p := o.ProgressOf(2027, baseline, &current)
	if !p.Flagged || len(p.Modules) != 1 || !p.Modules[0].Flagged || math.Abs(p.Modules[0].AllowedKg-510) > 1e-9 {
		t.Errorf("the equipment module, 600 kg against 510 allowed, is not flagged: %+v", p)
	}
	// A year without data: allowed, nothing else.
	if p := o.ProgressOf(2028, baseline, nil); p.ActualKg != nil || p.OnTrack != nil || p.Flagged {
		t.Errorf("a year without data: %+v", p)
	}
}

func TestFiguresCountWhatReportsCount(t *testing.T) {
	years := figuresOf([]reportingbus.Rollup{
		{Year: 2024, Module: "equipment", Scope: 2, KgCO2e: 100},
		{Year: 2024, Module: "equipment", Scope: 2, Variant: "market_based", KgCO2e: 5},
		{Year: 2024, Module: "headcount", Scope: 0, EmissionType: "fte", Quantity: 3},
		{Year: 2024, Module: "purchases", Scope: 3, KgCO2e: 50},
	})
	f := years[2024]
	if f.TotalKg != 150 || f.ModuleKg["equipment"] != 100 || f.ScopeKg[3] != 50 || f.ScopeKg[2] != 100 {
		t.Errorf("figures %+v: want 150 kg (market-based and headcount left out)", f)
	}
}
