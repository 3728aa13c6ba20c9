package reportingbus

import (
	"cmp"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
)

// KgCO2ePerCarKm is the emissions of one kilometre driven in the reference
// car of the EPFL CO2 calculator (kg CO2e per km): a report's total divided
// by it is its "equivalent car km".
const KgCO2ePerCarKm = 0.2996

// Rollup variants and measures (calc's conventions).
const (
	variantTotal       = ""             // the figure in totals
	variantMarketBased = "market_based" // scope 2, market-based
	scopeMeasure       = 0              // measures such as headcount, no emissions
	emissionTypeFTE    = "fte"
)

// sum is an amount of emissions with the sum of its squared uncertainties,
// so sums can be added before the root is taken.
type sum struct {
	kg, uncertaintySq float64
}

func (s *sum) add(kg, uncertaintySq float64) {
	s.kg += kg
	s.uncertaintySq += uncertaintySq
}

func (s sum) total() *reportingv1.Total {
	uncertainty := math.Sqrt(s.uncertaintySq)
	return &reportingv1.Total{
		KgCo2E: s.kg, TCo2E: s.kg / 1000, UncertaintyKg: uncertainty,
		LowKgCo2E: s.kg - uncertainty, HighKgCo2E: s.kg + uncertainty,
	}
}

// isEmission reports whether a rollup counts in the totals.
func isEmission(r *calcv1.Rollup) bool {
	return r.GetVariant() == variantTotal && r.GetScope() > scopeMeasure
}

// yearFigures are the sums of one year's rollups that every view needs.
type yearFigures struct {
	total, scope1, scope2Location, scope2Market, scope3 sum
	fte                                                 float64
	hasData                                             bool
}

func figuresOf(rollups []*calcv1.Rollup) yearFigures {
	var f yearFigures
	for _, r := range rollups {
		f.hasData = true
		switch {
		case r.GetScope() == scopeMeasure:
			if r.GetEmissionType() == emissionTypeFTE && r.GetVariant() == variantTotal {
				f.fte += r.GetQuantity()
			}
		case r.GetVariant() == variantTotal:
			f.total.add(r.GetKgCo2E(), r.GetUncertaintySq())
			switch r.GetScope() {
			case 1:
				f.scope1.add(r.GetKgCo2E(), r.GetUncertaintySq())
			case 2:
				f.scope2Location.add(r.GetKgCo2E(), r.GetUncertaintySq())
			case 3:
				f.scope3.add(r.GetKgCo2E(), r.GetUncertaintySq())
			}
		case r.GetVariant() == variantMarketBased && r.GetScope() == 2:
			f.scope2Market.add(r.GetKgCo2E(), r.GetUncertaintySq())
		}
	}
	return f
}

func perFTE(kg, fte float64) *float64 {
	if fte <= 0 {
		return nil
	}
	v := kg / fte
	return &v
}

func changePct(current, previous float64) *float64 {
	if previous == 0 {
		return nil
	}
	v := (current - previous) / previous * 100
	return &v
}

// ReportData is what a lab report is built from: the rollups, activity
// counts and import counts of the report's year and the year before.
type ReportData struct {
	Rollups        []*calcv1.Rollup
	ActivityCounts []*calcv1.ActivityCount
	ImportCounts   []*calcv1.ImportCount
}

// BuildReport computes the report of labIDs (the lab first) for year from
// data, which holds that year and the previous one.
func BuildReport(labIDs []string, year int32, includeSublabs bool, data ReportData, now time.Time) *reportingv1.Report {
	var current, previous []*calcv1.Rollup
	for _, r := range data.Rollups {
		switch r.GetYear() {
		case year:
			current = append(current, r)
		case year - 1:
			previous = append(previous, r)
		}
	}
	f := figuresOf(current)
	report := &reportingv1.Report{
		LabId: labIDs[0], Year: year, IncludeSublabs: includeSublabs, LabIds: labIDs,
		Total: f.total.total(), Scope1: f.scope1.total(), Scope2LocationBased: f.scope2Location.total(),
		Scope2MarketBased: f.scope2Market.total(), Scope3: f.scope3.total(),
		Fte: f.fte, KgCo2EPerFte: perFTE(f.total.kg, f.fte), EquivalentCarKm: f.total.kg / KgCO2ePerCarKm,
		GeneratedAt: timestamppb.New(now),
	}
	if prev := figuresOf(previous); prev.hasData {
		report.PreviousYear = prev.total.total()
		report.ChangePct = changePct(f.total.kg, prev.total.kg)
	}

	type typeKey struct {
		module, emissionType string
		scope                int32
	}
	modules := map[string]*sum{}
	types := map[typeKey]*reportingv1.EmissionTypeTotal{}
	typeSums := map[typeKey]*sum{}
	versions := map[[2]string]int64{}
	var emissions, overridden, fallback int64
	for _, r := range current {
		if _, ok := modules[r.GetModule()]; !ok {
			modules[r.GetModule()] = &sum{}
		}
		if !isEmission(r) {
			continue
		}
		modules[r.GetModule()].add(r.GetKgCo2E(), r.GetUncertaintySq())
		key := typeKey{r.GetModule(), r.GetEmissionType(), r.GetScope()}
		t, ok := types[key]
		if !ok {
			t = &reportingv1.EmissionTypeTotal{EmissionType: key.emissionType, Scope: key.scope, QuantityUnit: r.GetQuantityUnit()}
			types[key], typeSums[key] = t, &sum{}
		}
		typeSums[key].add(r.GetKgCo2E(), r.GetUncertaintySq())
		if t.GetQuantityUnit() == r.GetQuantityUnit() {
			t.Quantity += r.GetQuantity()
		} else {
			t.QuantityUnit, t.Quantity = "mixed", 0 // different units do not add up
		}
		emissions += r.GetEntries()
		overridden += r.GetOverridden()
		fallback += r.GetFallback()
		if r.GetFactorDataset() != "" || r.GetFactorVersion() != "" {
			versions[[2]string{r.GetFactorDataset(), r.GetFactorVersion()}] += r.GetEntries()
		}
	}
	entriesByModule := map[string]int64{}
	for _, c := range data.ActivityCounts {
		if c.GetYear() != year {
			continue
		}
		entriesByModule[c.GetModule()] += c.GetActivities()
		report.Entries += c.GetActivities()
		if _, ok := modules[c.GetModule()]; !ok {
			modules[c.GetModule()] = &sum{}
		}
	}
	for _, c := range data.ImportCounts {
		if c.GetYear() == year {
			report.Imports += c.GetImports()
		}
	}
	if emissions > 0 {
		report.OverriddenShare = float64(overridden) / float64(emissions)
		report.FallbackShare = float64(fallback) / float64(emissions)
	}
	for module, s := range modules {
		m := &reportingv1.ModuleTotal{Module: module, Total: s.total(), Entries: entriesByModule[module]}
		for key, t := range types {
			if key.module == module {
				t.Total = typeSums[key].total()
				m.EmissionTypes = append(m.EmissionTypes, t)
			}
		}
		slices.SortFunc(m.EmissionTypes, func(a, b *reportingv1.EmissionTypeTotal) int {
			return cmp.Or(cmp.Compare(b.GetTotal().GetKgCo2E(), a.GetTotal().GetKgCo2E()), cmp.Compare(a.GetEmissionType(), b.GetEmissionType()), cmp.Compare(a.GetScope(), b.GetScope()))
		})
		report.Modules = append(report.Modules, m)
	}
	slices.SortFunc(report.Modules, func(a, b *reportingv1.ModuleTotal) int {
		return cmp.Or(cmp.Compare(b.GetTotal().GetKgCo2E(), a.GetTotal().GetKgCo2E()), cmp.Compare(a.GetModule(), b.GetModule()))
	})
	for key, count := range versions {
		report.FactorVersions = append(report.FactorVersions, &reportingv1.FactorVersion{Dataset: key[0], Version: key[1], Emissions: count})
	}
	slices.SortFunc(report.FactorVersions, func(a, b *reportingv1.FactorVersion) int {
		return cmp.Or(cmp.Compare(a.GetDataset(), b.GetDataset()), cmp.Compare(a.GetVersion(), b.GetVersion()))
	})
	return report
}

// BuildYears computes the totals of each of years from rollups.
func BuildYears(labID string, years []int32, rollups []*calcv1.Rollup) *reportingv1.ReportYears {
	byYear := map[int32][]*calcv1.Rollup{}
	for _, r := range rollups {
		byYear[r.GetYear()] = append(byYear[r.GetYear()], r)
	}
	out := &reportingv1.ReportYears{LabId: labID}
	var previous *yearFigures
	for _, year := range years {
		f := figuresOf(byYear[year])
		y := &reportingv1.YearTotal{
			Year: year, Total: f.total.total(), Scope1: f.scope1.total(), Scope2LocationBased: f.scope2Location.total(),
			Scope3: f.scope3.total(), Fte: f.fte, KgCo2EPerFte: perFTE(f.total.kg, f.fte),
		}
		if previous != nil && previous.hasData {
			y.ChangePct = changePct(f.total.kg, previous.total.kg)
		}
		out.Years = append(out.Years, y)
		previous = &f // the change is from the previous year that has data
	}
	return out
}

// LabName is a lab's code and name, for the ranking.
type LabName struct{ Code, Name string }

// BuildRanking ranks the labs of a year by total, and by kg CO2e per FTE
// among those with a headcount.
func BuildRanking(year int32, totals []*calcv1.LabTotals, names map[string]LabName) *reportingv1.LabRanking {
	ranking := &reportingv1.LabRanking{Year: year}
	for _, t := range totals {
		name := names[t.GetLabId()]
		ranking.Labs = append(ranking.Labs, &reportingv1.RankedLab{
			LabId: t.GetLabId(), LabCode: name.Code, LabName: name.Name,
			Total: sum{kg: t.GetKgCo2E(), uncertaintySq: t.GetUncertaintySq()}.total(),
			Fte:   t.GetFte(), KgCo2EPerFte: perFTE(t.GetKgCo2E(), t.GetFte()),
		})
	}
	slices.SortFunc(ranking.Labs, func(a, b *reportingv1.RankedLab) int {
		return cmp.Or(cmp.Compare(b.GetTotal().GetKgCo2E(), a.GetTotal().GetKgCo2E()), cmp.Compare(a.GetLabCode(), b.GetLabCode()), cmp.Compare(a.GetLabId(), b.GetLabId()))
	})
	var withFTE []*reportingv1.RankedLab
	for i, lab := range ranking.Labs {
		lab.Rank = int32(i + 1)
		if lab.KgCo2EPerFte != nil {
			withFTE = append(withFTE, lab)
		}
	}
	slices.SortStableFunc(withFTE, func(a, b *reportingv1.RankedLab) int {
		return cmp.Compare(b.GetKgCo2EPerFte(), a.GetKgCo2EPerFte())
	})
	for i, lab := range withFTE {
		lab.RankPerFte = int32(i + 1)
	}
	return ranking
}
