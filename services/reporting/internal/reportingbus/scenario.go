package reportingbus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Scenario is a what-if scenario of calc as a report compares it: its
// results as rollups of its lab and year.
type Scenario struct {
	ID, LabID, Name              string
	Year                         int32
	ComputedAt                   time.Time
	FactorDataset, FactorVersion string
	Rollups                      []Rollup
}

// Scenarios reads calc's scenarios as the caller (calc checks the lab
// again, and a scenario of another lab is not found).
type Scenarios interface {
	Scenario(ctx context.Context, labID, scenarioID string) (Scenario, error)
}

// Comparison is a figure actual and in a scenario.
type Comparison struct {
	ActualKg, ScenarioKg, DifferenceKg float64
	// DifferencePct is nil when actual is 0.
	DifferencePct *float64
}

func compare(actual, scenario float64) Comparison {
	return Comparison{ActualKg: actual, ScenarioKg: scenario, DifferenceKg: scenario - actual, DifferencePct: changePct(scenario, actual)}
}

// ModuleComparison is a module's comparison.
type ModuleComparison struct {
	Module string
	Comparison
}

// ScenarioComparison is a scenario beside the actual year it copied.
type ScenarioComparison struct {
	Scenario Scenario
	// Actual are the year's actual rollups.
	Actual                                              []Rollup
	Total, Scope1, Scope2Location, Scope2Market, Scope3 Comparison
	Modules                                             []ModuleComparison
	GeneratedAt                                         time.Time
}

// CompareScenario builds the comparison of a scenario with its year, both
// summed as reports sum rollups.
func CompareScenario(s Scenario, actual ReportData, now time.Time) ScenarioComparison {
	ids := []string{s.LabID}
	a := BuildReport(ids, s.Year, false, actual, now)
	b := BuildReport(ids, s.Year, false, ReportData{Rollups: s.Rollups}, now)
	c := ScenarioComparison{
		Scenario: s, Actual: actual.Rollups, GeneratedAt: now,
		Total: compare(a.Total.KgCO2e, b.Total.KgCO2e), Scope1: compare(a.Scope1.KgCO2e, b.Scope1.KgCO2e),
		Scope2Location: compare(a.Scope2LocationBased.KgCO2e, b.Scope2LocationBased.KgCO2e),
		Scope2Market:   compare(a.Scope2MarketBased.KgCO2e, b.Scope2MarketBased.KgCO2e),
		Scope3:         compare(a.Scope3.KgCO2e, b.Scope3.KgCO2e),
	}
	modules := map[string]*[2]float64{}
	for i, report := range []Report{a, b} {
		for _, m := range report.Modules {
			if modules[m.Module] == nil {
				modules[m.Module] = &[2]float64{}
			}
			modules[m.Module][i] = m.Total.KgCO2e
		}
	}
	for _, module := range slices.Sorted(maps.Keys(modules)) {
		c.Modules = append(c.Modules, ModuleComparison{Module: module, Comparison: compare(modules[module][0], modules[module][1])})
	}
	return c
}

// CompareScenario returns the lab's scenario beside the actual year it
// copied. Whoever sees the lab.
func (r *Reports) CompareScenario(ctx context.Context, scenarios Scenarios, labID, scenarioID string) (ScenarioComparison, error) {
	if err := r.Authorize(ctx, labID, authz.View); err != nil {
		return ScenarioComparison{}, err
	}
	s, err := scenarios.Scenario(ctx, labID, scenarioID)
	if err != nil {
		return ScenarioComparison{}, err
	}
	for i := range s.Rollups {
		s.Rollups[i].LabID, s.Rollups[i].Year = labID, s.Year
	}
	actual, err := r.calc.ListRollups(ctx, []string{labID}, []int32{s.Year})
	if err != nil {
		return ScenarioComparison{}, fmt.Errorf("rollups of lab %s: %w", labID, err)
	}
	return CompareScenario(s, actual, r.now()), nil
}
