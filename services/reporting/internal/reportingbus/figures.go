package reportingbus

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"
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

// UncertaintyMethod says how reports combine uncertainties (ADR 026).
const UncertaintyMethod = "Each factor's uncertainty is fully correlated across the emissions computed with it (their uncertainties add up, " +
	"a lab's contract counting as one factor); uncertainties of different factors, and of figures given without a factor, are independent " +
	"(root-sum-square). GHG Protocol, Quantitative Inventory Uncertainty; IPCC 2006 Guidelines, Vol. 1, ch. 3 (approach 1). One standard uncertainty."

// sum is an amount of emissions and what its uncertainty is made of: the
// squares of independent figures' uncertainties, and per factor the sum
// of the uncertainties of the emissions computed with it, squared only
// when the total is taken.
type sum struct {
	kg, uncertaintySq float64
	shared            map[string]float64
}

// correlationGroup is what the emissions of r share an uncertainty with:
// their factor, or a lab's contract (a factor without an id); none for
// figures given without a factor.
func correlationGroup(r *Rollup) (string, bool) {
	switch {
	case r.FactorID != "":
		return "factor " + r.FactorID, true
	case r.FactorDataset != "":
		return "dataset " + r.LabID + " " + r.FactorDataset + " " + r.FactorVersion + " " + r.EmissionType, true
	}
	return "", false
}

func (s *sum) add(r *Rollup) {
	s.kg += r.KgCO2e
	group, shared := correlationGroup(r)
	if !shared {
		s.uncertaintySq += r.UncertaintySq
		return
	}
	if s.shared == nil {
		s.shared = map[string]float64{}
	}
	s.shared[group] += r.UncertaintyLinear
}

func (s sum) total() Total {
	variance := s.uncertaintySq
	for _, group := range slices.Sorted(maps.Keys(s.shared)) { // one order: the same figure every time
		variance += s.shared[group] * s.shared[group]
	}
	uncertainty := math.Sqrt(variance)
	return Total{
		KgCO2e: s.kg, TCO2e: s.kg / 1000, UncertaintyKg: uncertainty,
		LowKgCO2e: s.kg - uncertainty, HighKgCO2e: s.kg + uncertainty,
	}
}

// isEmission reports whether a rollup counts in the totals.
func isEmission(r *Rollup) bool {
	return r.Variant == variantTotal && r.Scope > scopeMeasure
}

// yearFigures are the sums of one year's rollups that every view needs.
type yearFigures struct {
	total, scope1, scope2Location, scope2Market, scope3 sum
	fte                                                 float64
	hasData                                             bool
}

func figuresOf(rollups []Rollup) yearFigures {
	var f yearFigures
	for i := range rollups {
		r := &rollups[i]
		f.hasData = true
		switch {
		case r.Scope == scopeMeasure:
			if r.EmissionType == emissionTypeFTE && r.Variant == variantTotal {
				f.fte += r.Quantity
			}
		case r.Variant == variantTotal:
			f.total.add(r)
			switch r.Scope {
			case 1:
				f.scope1.add(r)
			case 2:
				f.scope2Location.add(r)
			case 3:
				f.scope3.add(r)
			}
		case r.Variant == variantMarketBased && r.Scope == 2:
			f.scope2Market.add(r)
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

// BuildReport computes the report of labIDs (the lab first) for year from
// data, which holds that year and the previous one.
func BuildReport(labIDs []string, year int32, includeSublabs bool, data ReportData, now time.Time) Report {
	var current, previous []Rollup
	for _, r := range data.Rollups {
		switch r.Year {
		case year:
			current = append(current, r)
		case year - 1:
			previous = append(previous, r)
		}
	}
	f := figuresOf(current)
	report := Report{
		LabID: labIDs[0], Year: year, IncludeSublabs: includeSublabs, LabIDs: labIDs,
		Total: f.total.total(), Scope1: f.scope1.total(), Scope2LocationBased: f.scope2Location.total(),
		Scope2MarketBased: f.scope2Market.total(), Scope3: f.scope3.total(),
		FTE: f.fte, KgCO2ePerFTE: perFTE(f.total.kg, f.fte), EquivalentCarKm: f.total.kg / KgCO2ePerCarKm,
		GeneratedAt: now, UncertaintyMethod: UncertaintyMethod,
	}
	if prev := figuresOf(previous); prev.hasData {
		total := prev.total.total()
		report.PreviousYear = &total
		report.ChangePct = changePct(f.total.kg, prev.total.kg)
	}

	type typeKey struct {
		module, emissionType string
		scope                int32
	}
	modules := map[string]*sum{}
	types := map[typeKey]*EmissionTypeTotal{}
	typeSums := map[typeKey]*sum{}
	versions := map[[2]string]int64{}
	var emissions, overridden, fallback int64
	for i := range current {
		r := &current[i]
		if _, ok := modules[r.Module]; !ok {
			modules[r.Module] = &sum{}
		}
		if !isEmission(r) {
			continue
		}
		modules[r.Module].add(r)
		key := typeKey{r.Module, r.EmissionType, r.Scope}
		t, ok := types[key]
		if !ok {
			t = &EmissionTypeTotal{EmissionType: key.emissionType, Scope: key.scope, QuantityUnit: r.QuantityUnit}
			types[key], typeSums[key] = t, &sum{}
		}
		typeSums[key].add(r)
		if t.QuantityUnit == r.QuantityUnit {
			t.Quantity += r.Quantity
		} else {
			t.QuantityUnit, t.Quantity = "mixed", 0 // different units do not add up
		}
		emissions += r.Entries
		overridden += r.Overridden
		fallback += r.Fallback
		if r.FactorDataset != "" || r.FactorVersion != "" {
			versions[[2]string{r.FactorDataset, r.FactorVersion}] += r.Entries
		}
	}
	entriesByModule := map[string]int64{}
	for _, c := range data.ActivityCounts {
		if c.Year != year {
			continue
		}
		entriesByModule[c.Module] += c.Activities
		report.Entries += c.Activities
		if _, ok := modules[c.Module]; !ok {
			modules[c.Module] = &sum{}
		}
	}
	for _, c := range data.ImportCounts {
		if c.Year == year {
			report.Imports += c.Imports
		}
	}
	if emissions > 0 {
		report.OverriddenShare = float64(overridden) / float64(emissions)
		report.FallbackShare = float64(fallback) / float64(emissions)
	}
	validated := map[string]*ValidatedTotal{}
	for _, v := range data.Validated {
		if v.Year != year {
			continue
		}
		if validated[v.Module] == nil {
			validated[v.Module] = &ValidatedTotal{Module: v.Module}
		}
		validated[v.Module].KgCO2e += v.KgCO2e
		validated[v.Module].Activities += v.Activities
		report.ValidatedKgCO2e += v.KgCO2e
		if _, ok := modules[v.Module]; !ok {
			modules[v.Module] = &sum{}
		}
	}
	report.ValidatedShare = share(report.ValidatedKgCO2e, report.Total.KgCO2e)
	for module, s := range modules {
		m := ModuleTotal{Module: module, Total: s.total(), Entries: entriesByModule[module]}
		if v := validated[module]; v != nil {
			m.ValidatedKgCO2e, m.ValidatedEntries = v.KgCO2e, v.Activities
			m.ValidatedShare = share(v.KgCO2e, m.Total.KgCO2e)
		}
		for key, t := range types {
			if key.module == module {
				t.Total = typeSums[key].total()
				m.EmissionTypes = append(m.EmissionTypes, *t)
			}
		}
		slices.SortFunc(m.EmissionTypes, func(a, b EmissionTypeTotal) int {
			return cmp.Or(cmp.Compare(b.Total.KgCO2e, a.Total.KgCO2e), cmp.Compare(a.EmissionType, b.EmissionType), cmp.Compare(a.Scope, b.Scope))
		})
		report.Modules = append(report.Modules, m)
	}
	slices.SortFunc(report.Modules, func(a, b ModuleTotal) int {
		return cmp.Or(cmp.Compare(b.Total.KgCO2e, a.Total.KgCO2e), cmp.Compare(a.Module, b.Module))
	})
	for key, count := range versions {
		report.FactorVersions = append(report.FactorVersions, FactorVersion{Dataset: key[0], Version: key[1], Emissions: count})
	}
	slices.SortFunc(report.FactorVersions, func(a, b FactorVersion) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Version, b.Version))
	})
	return report
}

// BuildYears computes the totals of each of years from rollups.
func BuildYears(labID string, years []int32, rollups []Rollup) ReportYears {
	byYear := map[int32][]Rollup{}
	for _, r := range rollups {
		byYear[r.Year] = append(byYear[r.Year], r)
	}
	out := ReportYears{LabID: labID}
	var previous *yearFigures
	for _, year := range years {
		f := figuresOf(byYear[year])
		y := YearTotal{
			Year: year, Total: f.total.total(), Scope1: f.scope1.total(), Scope2LocationBased: f.scope2Location.total(),
			Scope3: f.scope3.total(), FTE: f.fte, KgCO2ePerFTE: perFTE(f.total.kg, f.fte),
		}
		if previous != nil && previous.hasData {
			y.ChangePct = changePct(f.total.kg, previous.total.kg)
		}
		out.Years = append(out.Years, y)
		previous = &f // the change is from the previous year that has data
	}
	return out
}

// BuildRanking ranks the labs of a year by total, and by kg CO2e per FTE
// among those with a headcount.
func BuildRanking(year int32, totals []LabTotals, names map[string]LabName) LabRanking {
	ranking := LabRanking{Year: year}
	for _, t := range totals {
		name := names[t.LabID]
		ranking.Labs = append(ranking.Labs, RankedLab{
			LabID: t.LabID, LabCode: name.Code, LabName: name.Name,
			Total: sum{kg: t.KgCO2e, uncertaintySq: t.UncertaintySq}.total(),
			FTE:   t.FTE, KgCO2ePerFTE: perFTE(t.KgCO2e, t.FTE),
		})
	}
	slices.SortFunc(ranking.Labs, func(a, b RankedLab) int {
		return cmp.Or(cmp.Compare(b.Total.KgCO2e, a.Total.KgCO2e), cmp.Compare(a.LabCode, b.LabCode), cmp.Compare(a.LabID, b.LabID))
	})
	var withFTE []*RankedLab
	for i := range ranking.Labs {
		lab := &ranking.Labs[i]
		lab.Rank = int32(i + 1)
		if lab.KgCO2ePerFTE != nil {
			withFTE = append(withFTE, lab)
		}
	}
	slices.SortStableFunc(withFTE, func(a, b *RankedLab) int {
		return cmp.Compare(*b.KgCO2ePerFTE, *a.KgCO2ePerFTE)
	})
	for i, lab := range withFTE {
		lab.RankPerFTE = int32(i + 1)
	}
	return ranking
}

// share is part's share (0..1) of whole; 0 of nothing.
func share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return min(part/whole, 1)
}
