package objectivebus

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// Progress is where a lab (or the institution) stands in one year against
// its objective.
type Progress struct {
	Year, BaselineYear, TargetYear int32
	// ReductionPct is what the trajectory asks for by Year.
	ReductionPct float64
	AllowedKg    float64
	// ActualKg, GapKg, GapPct and OnTrack are nil when the year has no
	// data (GapPct also when nothing is allowed).
	ActualKg, GapKg, GapPct *float64
	OnTrack                 *bool
	Flagged                 bool
	Reasons                 []string
	Modules, Scopes         []TargetProgress
}

// TargetProgress is a module's or a scope's year against its objective.
type TargetProgress struct {
	Name                            string
	ReductionPct                    float64
	BaselineKg, AllowedKg, ActualKg float64
	GapKg                           float64
	GapPct                          *float64
	Flagged                         bool
}

// Trajectory is an objective's every year: from the baseline to the
// target, and later years with data.
type Trajectory struct {
	Objective  Objective
	BaselineKg float64
	Years      []Progress
}

// Figures are the emissions of one year of the labs an objective covers:
// the total (scopes 1, 2 location-based and 3) and its parts by module and
// scope.
type Figures struct {
	HasData  bool
	TotalKg  float64
	ModuleKg map[string]float64
	ScopeKg  map[int32]float64
}

// figuresOf sums rollups by year the way a report does.
func figuresOf(rollups []reportingbus.Rollup) map[int32]*Figures {
	years := map[int32]*Figures{}
	for i := range rollups {
		r := &rollups[i]
		f := years[r.Year]
		if f == nil {
			f = &Figures{ModuleKg: map[string]float64{}, ScopeKg: map[int32]float64{}}
			years[r.Year] = f
		}
		f.HasData = true
		if r.Variant != "" || r.Scope <= 0 {
			continue // market-based scope 2, measures such as headcount
		}
		f.TotalKg += r.KgCO2e
		f.ModuleKg[r.Module] += r.KgCO2e
		f.ScopeKg[r.Scope] += r.KgCO2e
	}
	return years
}

// reductionAt is the overall reduction the objective asks for by year,
// percent: 0 at the baseline, the milestones, the reduction at the target
// and after, linear in between.
func (o Objective) reductionAt(year int32) float64 {
	points := map[int32]float64{o.BaselineYear: 0, o.TargetYear: o.ReductionPct}
	maps.Copy(points, o.Milestones)
	return interpolate(points, year)
}

// linearReductionAt is a module's or scope's reduction by year: reduction
// reached linearly from the baseline to the target.
func (o Objective) linearReductionAt(reduction float64, year int32) float64 {
	return interpolate(map[int32]float64{o.BaselineYear: 0, o.TargetYear: reduction}, year)
}

// interpolate reads points (year → percent) at year, linearly between two
// points and flat outside them.
func interpolate(points map[int32]float64, year int32) float64 {
	years := slices.Sorted(maps.Keys(points))
	if year <= years[0] {
		return points[years[0]]
	}
	for i := 1; i < len(years); i++ {
		if year <= years[i] {
			from, to := years[i-1], years[i]
			share := float64(year-from) / float64(to-from)
			return points[from] + (points[to]-points[from])*share
		}
	}
	return points[years[len(years)-1]]
}

func allowed(baselineKg, reductionPct float64) float64 { return baselineKg * (1 - reductionPct/100) }

// gapPct is gap as a percent of allowed; nil when nothing is allowed.
func gapPct(gap, allowedKg float64) *float64 {
	if allowedKg <= 0 {
		return nil
	}
	v := gap / allowedKg * 100
	return &v
}

// over reports whether actual exceeds allowed by more than marginPct.
func over(actual, allowedKg, marginPct float64) bool {
	return actual > allowedKg*(1+marginPct/100)+1e-9
}

// ProgressOf computes year against the objective from the baseline's
// figures and the year's (nil: no data).
func (o Objective) ProgressOf(year int32, baseline Figures, current *Figures) Progress {
	reduction := o.reductionAt(year)
	p := Progress{
		Year: year, BaselineYear: o.BaselineYear, TargetYear: o.TargetYear,
		ReductionPct: reduction, AllowedKg: allowed(baseline.TotalKg, reduction),
	}
	if current == nil || !current.HasData {
		return p
	}
	actual, gap := current.TotalKg, current.TotalKg-p.AllowedKg
	onTrack := gap <= 1e-9
	p.ActualKg, p.GapKg, p.GapPct, p.OnTrack = &actual, &gap, gapPct(gap, p.AllowedKg), &onTrack
	if over(actual, p.AllowedKg, o.AlertMarginPct) {
		p.Flagged = true
		p.Reasons = append(p.Reasons, fmt.Sprintf("the total, %.0f kg CO2e, is over the %.0f kg the trajectory allows in %d by more than %g %%",
			actual, p.AllowedKg, year, o.AlertMarginPct))
	}
	for _, module := range slices.Sorted(maps.Keys(o.ModuleReductions)) {
		t := o.target(module, o.ModuleReductions[module], baseline.ModuleKg[module], current.ModuleKg[module], year)
		p.Modules = append(p.Modules, t)
		if t.Flagged {
			p.Flagged = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("the module %s, %.0f kg CO2e, is over the %.0f kg its objective allows by more than %g %%",
				module, t.ActualKg, t.AllowedKg, o.AlertMarginPct))
		}
	}
	for _, scope := range slices.Sorted(maps.Keys(o.ScopeReductions)) {
		name := strconv.Itoa(int(scope))
		t := o.target(name, o.ScopeReductions[scope], baseline.ScopeKg[scope], current.ScopeKg[scope], year)
		p.Scopes = append(p.Scopes, t)
		if t.Flagged {
			p.Flagged = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("scope %s, %.0f kg CO2e, is over the %.0f kg its objective allows by more than %g %%",
				name, t.ActualKg, t.AllowedKg, o.AlertMarginPct))
		}
	}
	return p
}

func (o Objective) target(name string, reductionPct, baselineKg, actualKg float64, year int32) TargetProgress {
	reduction := o.linearReductionAt(reductionPct, year)
	allowedKg := allowed(baselineKg, reduction)
	gap := actualKg - allowedKg
	return TargetProgress{
		Name: name, ReductionPct: reduction, BaselineKg: baselineKg, AllowedKg: allowedKg, ActualKg: actualKg,
		GapKg: gap, GapPct: gapPct(gap, allowedKg), Flagged: over(actualKg, allowedKg, o.AlertMarginPct),
	}
}

// progressIn computes year against the objective from figures, which hold
// the baseline's and the year's (when they have data).
func (o Objective) progressIn(year int32, figures map[int32]*Figures) Progress {
	baseline := Figures{}
	if f := figures[o.BaselineYear]; f != nil {
		baseline = *f
	}
	return o.ProgressOf(year, baseline, figures[year])
}

// TrajectoryOf computes every year of the objective from the figures of
// the years with data (the baseline's among them).
func (o Objective) TrajectoryOf(years map[int32]*Figures) Trajectory {
	last := o.TargetYear
	for year := range years {
		last = max(last, year)
	}
	t := Trajectory{Objective: o}
	if f := years[o.BaselineYear]; f != nil {
		t.BaselineKg = f.TotalKg
	}
	for year := o.BaselineYear; year <= last; year++ {
		t.Years = append(t.Years, o.progressIn(year, years))
	}
	return t
}

// byGap orders progress the furthest over its trajectory first (percent),
// those without a gap last.
func byGap(a, b *Progress) int {
	switch {
	case a.GapPct == nil && b.GapPct == nil:
		return 0
	case a.GapPct == nil:
		return 1
	case b.GapPct == nil:
		return -1
	}
	return cmp.Compare(*b.GapPct, *a.GapPct)
}
