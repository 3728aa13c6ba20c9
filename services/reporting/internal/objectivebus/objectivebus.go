// Package objectivebus keeps the reduction objectives of labs and of the
// institution (ADR 023): who may set them, what makes one valid, and where
// a lab stands on its trajectory, computed when asked from calc's rollups
// so that a change of data or factors moves trajectories and alerts at
// once.
package objectivebus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// Objective is a reduction objective of a lab, or of the institution
// (LabID "").
type Objective struct {
	ID               uuid.UUID          `json:"id"`
	LabID            string             `json:"lab_id"`
	IncludeSublabs   bool               `json:"include_sublabs"`
	BaselineYear     int32              `json:"baseline_year"`
	TargetYear       int32              `json:"target_year"`
	ReductionPct     float64            `json:"reduction_pct"`
	ModuleReductions map[string]float64 `json:"module_reductions"`
	ScopeReductions  map[int32]float64  `json:"scope_reductions"`
	Milestones       map[int32]float64  `json:"milestones"`
	AlertMarginPct   float64            `json:"alert_margin_pct"`
	CreatedBy        string             `json:"created_by"`
	CreatedAt        time.Time          `json:"created_at"`
	UpdatedBy        string             `json:"updated_by"`
	UpdatedAt        time.Time          `json:"updated_at"`
}

// ResourceObjective names objectives in the audit trail.
const ResourceObjective = "objective"

// SetEvent is the audit event of setting an objective (before is nil when
// there was none), which the store records in the transaction of the
// change.
func SetEvent(before *Objective, after Objective) audit.Event {
	event := audit.Event{LabID: after.LabID, ResourceType: ResourceObjective, ResourceID: after.ID.String(), Action: audit.ActionCreate, After: after}
	if before != nil {
		event.Action, event.Before = audit.ActionUpdate, *before
	}
	return event
}

// DeletedEvent is the audit event of an objective's removal.
func DeletedEvent(deleted Objective) audit.Event {
	return audit.Event{LabID: deleted.LabID, ResourceType: ResourceObjective, ResourceID: deleted.ID.String(), Action: audit.ActionDelete, Before: deleted}
}

// ErrNoObjective: the lab (or the institution) has no objective.
var ErrNoObjective = errors.New("no objective")

// Store keeps the objectives. A labID of nil is the institution's.
type Store interface {
	GetObjective(ctx context.Context, labID *uuid.UUID) (Objective, error)
	// SetObjective stores o in place of the lab's objective, as actor,
	// and records SetEvent in the same transaction.
	SetObjective(ctx context.Context, o Objective, actor string) (Objective, error)
	// DeleteObjective removes the lab's objective and records
	// DeletedEvent in the same transaction.
	DeleteObjective(ctx context.Context, labID *uuid.UUID) (Objective, error)
	// ListLabObjectives returns up to pageSize labs' objectives, ordered
	// by lab id, after the lab id after.
	ListLabObjectives(ctx context.Context, after uuid.UUID, pageSize int32) ([]Objective, error)
}

// Config tunes objectives.
type Config struct {
	// AlertMarginPct is the margin of an objective set without one: a
	// year over its trajectory by more than this percent is flagged.
	AlertMarginPct float64 `env:"OBJECTIVE_ALERT_MARGIN_PCT, default=5"`
}

// Objectives sets and shows objectives and computes progress.
type Objectives struct {
	store   Store
	reports *reportingbus.Reports
	calc    reportingbus.Calc
	labs    reportingbus.Labs
	authz   *authz.Authorizer
	cfg     Config
	now     func() time.Time
}

// New returns the objectives over store.
func New(store Store, reports *reportingbus.Reports, calc reportingbus.Calc, labs reportingbus.Labs, authorizer *authz.Authorizer, cfg Config) *Objectives {
	return &Objectives{store: store, reports: reports, calc: calc, labs: labs, authz: authorizer, cfg: cfg, now: time.Now}
}

// Request is an objective as a caller sets it; AlertMarginPct nil takes the
// installation's default.
type Request struct {
	IncludeSublabs           bool
	BaselineYear, TargetYear int32
	ReductionPct             float64
	ModuleReductions         map[string]float64
	ScopeReductions          map[int32]float64
	Milestones               map[int32]float64
	AlertMarginPct           *float64
}

// Years an objective may span.
const (
	minYear = 1990
	maxYear = 2100
)

func checkPct(field string, value float64) error {
	if math.IsNaN(value) || value < 0 || value > 100 {
		return apperr.Invalid(field, "a reduction is a percent from 0 to 100 (got %g)", value)
	}
	return nil
}

// objective checks r and returns the objective it sets.
func (s *Objectives) objective(labID string, r Request) (Objective, error) {
	if r.BaselineYear < minYear || r.BaselineYear > maxYear {
		return Objective{}, apperr.Invalid("baseline_year", "give the baseline year, %d to %d (got %d)", minYear, maxYear, r.BaselineYear)
	}
	if r.TargetYear <= r.BaselineYear || r.TargetYear > maxYear {
		return Objective{}, apperr.Invalid("target_year", "the target year must come after the baseline year %d, by %d at the latest (got %d)", r.BaselineYear, maxYear, r.TargetYear)
	}
	if err := checkPct("reduction_pct", r.ReductionPct); err != nil {
		return Objective{}, err
	}
	for module, pct := range r.ModuleReductions {
		if err := checkPct("module_reductions."+module, pct); err != nil {
			return Objective{}, err
		}
	}
	for scope, pct := range r.ScopeReductions {
		if scope < 1 || scope > 3 {
			return Objective{}, apperr.Invalid("scope_reductions", "scopes are 1, 2 and 3 (got %d)", scope)
		}
		if err := checkPct(fmt.Sprintf("scope_reductions.%d", scope), pct); err != nil {
			return Objective{}, err
		}
	}
	for year, pct := range r.Milestones {
		if year <= r.BaselineYear || year >= r.TargetYear {
			return Objective{}, apperr.Invalid("milestones", "a milestone's year comes between the baseline %d and the target %d (got %d)", r.BaselineYear, r.TargetYear, year)
		}
		if err := checkPct(fmt.Sprintf("milestones.%d", year), pct); err != nil {
			return Objective{}, err
		}
	}
	margin := s.cfg.AlertMarginPct
	if r.AlertMarginPct != nil {
		margin = *r.AlertMarginPct
		if math.IsNaN(margin) || margin < 0 || margin > 1000 {
			return Objective{}, apperr.Invalid("alert_margin_pct", "the alert margin is a percent from 0 to 1000 (got %g)", margin)
		}
	}
	return Objective{
		ID: uuid.New(), LabID: labID, IncludeSublabs: r.IncludeSublabs, BaselineYear: r.BaselineYear, TargetYear: r.TargetYear,
		ReductionPct: r.ReductionPct, ModuleReductions: orEmpty(r.ModuleReductions), ScopeReductions: orEmpty(r.ScopeReductions),
		Milestones: orEmpty(r.Milestones), AlertMarginPct: margin,
	}, nil
}

func orEmpty[K comparable](m map[K]float64) map[K]float64 {
	if m == nil {
		return map[K]float64{}
	}
	return m
}

func labKey(labID string) (*uuid.UUID, error) {
	id, err := uuid.Parse(labID)
	if err != nil {
		return nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	return &id, nil
}

func actor(ctx context.Context) string { return audit.ActorOf(ctx, "reporting").Subject }

// Set sets a lab's objective: lab managers of the lab and admins.
func (s *Objectives) Set(ctx context.Context, labID string, r Request) (Trajectory, error) {
	if err := s.reports.Authorize(ctx, labID, authz.Plan); err != nil {
		return Trajectory{}, err
	}
	return s.set(ctx, labID, r)
}

// set checks r against the data of labID ("": the institution), stores
// the objective and returns its trajectory.
func (s *Objectives) set(ctx context.Context, labID string, r Request) (Trajectory, error) {
	o, err := s.objective(labID, r)
	if err != nil {
		return Trajectory{}, err
	}
	baseline, err := s.figures(ctx, o, []int32{o.BaselineYear})
	if err != nil {
		return Trajectory{}, err
	}
	if err := checkBaseline(o, baseline[o.BaselineYear]); err != nil {
		return Trajectory{}, err
	}
	stored, err := s.store.SetObjective(ctx, o, actor(ctx))
	if err != nil {
		return Trajectory{}, err
	}
	return s.trajectory(ctx, stored)
}

// checkBaseline refuses an objective whose baseline year has no emissions,
// or a module or scope objective of what the baseline year does not emit.
func checkBaseline(o Objective, baseline *Figures) error {
	who := "the institution"
	if o.LabID != "" {
		who = "lab " + o.LabID
	}
	if baseline == nil || baseline.TotalKg <= 0 {
		return apperr.Invalid("baseline_year", "%s has no emissions in %d: import that year's data first, or give a year with data", who, o.BaselineYear)
	}
	for module := range o.ModuleReductions {
		if baseline.ModuleKg[module] <= 0 {
			return apperr.Invalid("module_reductions", "%s has no %q emissions in %d to reduce; modules with emissions then: %s",
				who, module, o.BaselineYear, strings.Join(slices.Sorted(maps.Keys(positive(baseline.ModuleKg))), ", "))
		}
	}
	for scope := range o.ScopeReductions {
		if baseline.ScopeKg[scope] <= 0 {
			return apperr.Invalid("scope_reductions", "%s has no scope %d emissions in %d to reduce", who, scope, o.BaselineYear)
		}
	}
	return nil
}

func positive[K comparable](m map[K]float64) map[K]float64 {
	out := map[K]float64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// Get returns a lab's objective and trajectory: whoever may see the lab.
func (s *Objectives) Get(ctx context.Context, labID string) (Trajectory, error) {
	if err := s.reports.Authorize(ctx, labID, authz.View); err != nil {
		return Trajectory{}, err
	}
	key, err := labKey(labID)
	if err != nil {
		return Trajectory{}, err
	}
	o, err := s.store.GetObjective(ctx, key)
	if errors.Is(err, ErrNoObjective) {
		return Trajectory{}, apperr.NotFound("lab %s has no objective: a lab manager sets one with PUT /api/v1/labs/%s/objective", labID, labID)
	}
	if err != nil {
		return Trajectory{}, err
	}
	return s.trajectory(ctx, o)
}

// Delete removes a lab's objective: as Set.
func (s *Objectives) Delete(ctx context.Context, labID string) (Objective, error) {
	if err := s.reports.Authorize(ctx, labID, authz.Plan); err != nil {
		return Objective{}, err
	}
	key, err := labKey(labID)
	if err != nil {
		return Objective{}, err
	}
	o, err := s.store.DeleteObjective(ctx, key)
	if errors.Is(err, ErrNoObjective) {
		return Objective{}, apperr.NotFound("lab %s has no objective", labID)
	}
	return o, err
}

// SetInstitution sets the institution's objective: admins only.
func (s *Objectives) SetInstitution(ctx context.Context, r Request) (Trajectory, error) {
	if err := s.requireEverywhere(ctx, authz.Administer, "the institution's objective is set by admins"); err != nil {
		return Trajectory{}, err
	}
	return s.set(ctx, "", r)
}

// GetInstitution returns the institution's objective: admins and auditors.
func (s *Objectives) GetInstitution(ctx context.Context) (Trajectory, error) {
	if err := s.requireEverywhere(ctx, authz.View, "the institution's objective is for admins and auditors"); err != nil {
		return Trajectory{}, err
	}
	o, err := s.store.GetObjective(ctx, nil)
	if errors.Is(err, ErrNoObjective) {
		return Trajectory{}, apperr.NotFound("the institution has no objective: an admin sets one with PUT /api/v1/objective")
	}
	if err != nil {
		return Trajectory{}, err
	}
	return s.trajectory(ctx, o)
}

// DeleteInstitution removes the institution's objective: admins only.
func (s *Objectives) DeleteInstitution(ctx context.Context) (Objective, error) {
	if err := s.requireEverywhere(ctx, authz.Administer, "the institution's objective is removed by admins"); err != nil {
		return Objective{}, err
	}
	o, err := s.store.DeleteObjective(ctx, nil)
	if errors.Is(err, ErrNoObjective) {
		return Objective{}, apperr.NotFound("the institution has no objective")
	}
	return o, err
}

func (s *Objectives) requireEverywhere(ctx context.Context, action authz.Action, refusal string) error {
	access, err := s.authz.For(ctx)
	if err != nil {
		return err
	}
	if !access.CanEverywhere(action) {
		return apperr.PermissionDenied("%s", refusal)
	}
	return nil
}

// trajectory computes o's every year from the data as it is now.
func (s *Objectives) trajectory(ctx context.Context, o Objective) (Trajectory, error) {
	years, err := s.dataYears(ctx, o)
	if err != nil {
		return Trajectory{}, err
	}
	figures, err := s.figures(ctx, o, years)
	if err != nil {
		return Trajectory{}, err
	}
	return o.TrajectoryOf(figures), nil
}

// dataYears are the years of o's trajectory that may hold data: the
// baseline's and later.
func (s *Objectives) dataYears(ctx context.Context, o Objective) ([]int32, error) {
	if o.LabID == "" {
		var years []int32
		for year := o.BaselineYear; year <= max(o.TargetYear, int32(s.now().Year())); year++ {
			years = append(years, year)
		}
		return years, nil
	}
	ids, err := s.reports.LabIDs(ctx, o.LabID, o.IncludeSublabs)
	if err != nil {
		return nil, err
	}
	all, err := s.calc.ListLabYears(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("years of lab %s: %w", o.LabID, err)
	}
	years := []int32{o.BaselineYear}
	for _, year := range all {
		if year > o.BaselineYear {
			years = append(years, year)
		}
	}
	return years, nil
}

// yearsPerCall bounds the years of one question to calc.
const yearsPerCall = 100

// figures returns the figures of years for the labs o covers (years
// without data are absent).
func (s *Objectives) figures(ctx context.Context, o Objective, years []int32) (map[int32]*Figures, error) {
	if o.LabID == "" {
		out := map[int32]*Figures{}
		for _, year := range years {
			totals, err := s.calc.YearTotals(ctx, year)
			if err != nil {
				return nil, fmt.Errorf("totals of %d: %w", year, err)
			}
			if len(totals) == 0 {
				continue
			}
			f := &Figures{HasData: true}
			for _, t := range totals {
				f.TotalKg += t.KgCO2e
			}
			out[year] = f
		}
		return out, nil
	}
	ids, err := s.reports.LabIDs(ctx, o.LabID, o.IncludeSublabs)
	if err != nil {
		return nil, err
	}
	return s.labFigures(ctx, ids, years)
}

func (s *Objectives) labFigures(ctx context.Context, ids []string, years []int32) (map[int32]*Figures, error) {
	var rollups []reportingbus.Rollup
	for start := 0; start < len(years); start += yearsPerCall {
		data, err := s.calc.ListRollups(ctx, ids, years[start:min(start+yearsPerCall, len(years))])
		if err != nil {
			return nil, fmt.Errorf("rollups of lab %s: %w", ids[0], err)
		}
		rollups = append(rollups, data.Rollups...)
	}
	return figuresOf(rollups), nil
}

// ProgressIn returns where labIDs (a lab, and its sub-labs when
// includeSublabs) stand in year against the lab's objective: nil when the
// lab has none, the year comes before its baseline, or the objective does
// not count the same labs. The caller has been authorised to see the lab.
func (s *Objectives) ProgressIn(ctx context.Context, labIDs []string, includeSublabs bool, year int32) (*Progress, error) {
	o, ok, err := s.objectiveOf(ctx, labIDs[0], includeSublabs)
	if err != nil || !ok || year < o.BaselineYear {
		return nil, err
	}
	figures, err := s.labFigures(ctx, labIDs, []int32{o.BaselineYear, year})
	if err != nil {
		return nil, err
	}
	p := o.progressIn(year, figures)
	return &p, nil
}

// TrajectoryOf returns the trajectory of the lab's objective, nil as for
// ProgressIn. The caller has been authorised to see the lab.
func (s *Objectives) TrajectoryOf(ctx context.Context, labID string, includeSublabs bool) (*Trajectory, error) {
	o, ok, err := s.objectiveOf(ctx, labID, includeSublabs)
	if err != nil || !ok {
		return nil, err
	}
	t, err := s.trajectory(ctx, o)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Objectives) objectiveOf(ctx context.Context, labID string, includeSublabs bool) (Objective, bool, error) {
	key, err := labKey(labID)
	if err != nil {
		return Objective{}, false, err
	}
	o, err := s.store.GetObjective(ctx, key)
	if errors.Is(err, ErrNoObjective) {
		return Objective{}, false, nil
	}
	if err != nil {
		return Objective{}, false, err
	}
	return o, o.IncludeSublabs == includeSublabs, nil
}

// InstitutionProgress is the institution's year against its objective;
// nil without one or before its baseline. The caller has been authorised
// to see every lab.
func (s *Objectives) InstitutionProgress(ctx context.Context, year int32) (*Progress, error) {
	o, err := s.store.GetObjective(ctx, nil)
	if errors.Is(err, ErrNoObjective) {
		return nil, nil
	}
	if err != nil || year < o.BaselineYear {
		return nil, err
	}
	figures, err := s.figures(ctx, o, []int32{o.BaselineYear, year})
	if err != nil {
		return nil, err
	}
	p := o.progressIn(year, figures)
	return &p, nil
}

// LabProgress is a lab's year against its objective.
type LabProgress struct {
	LabID    string
	Progress Progress
}

// objectivesPage is how many objectives one look at the store reads.
const objectivesPage = 200

// Progresses returns the year's progress of every lab with an objective
// that visible allows, the furthest over its trajectory first.
func (s *Objectives) Progresses(ctx context.Context, year int32, visible func(labID string) bool) ([]LabProgress, error) {
	var out []LabProgress
	after := uuid.Nil
	for {
		page, err := s.store.ListLabObjectives(ctx, after, objectivesPage)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if !visible(o.LabID) || year < o.BaselineYear {
				continue
			}
			ids, err := s.reports.LabIDs(ctx, o.LabID, o.IncludeSublabs)
			if err != nil {
				return nil, err
			}
			figures, err := s.labFigures(ctx, ids, []int32{o.BaselineYear, year})
			if err != nil {
				return nil, err
			}
			out = append(out, LabProgress{LabID: o.LabID, Progress: o.progressIn(year, figures)})
		}
		if len(page) < objectivesPage {
			break
		}
		after = uuid.MustParse(page[len(page)-1].LabID)
	}
	slices.SortStableFunc(out, func(a, b LabProgress) int { return byGap(&a.Progress, &b.Progress) })
	return out, nil
}

// Alert is a lab flagged in a year.
type Alert struct {
	LabID            string
	LabCode, LabName string
	Progress         Progress
}

// Alerts returns the labs flagged in year that the caller may plan for
// (lab managers: their labs), or every lab (admins and auditors).
func (s *Objectives) Alerts(ctx context.Context, year int32) ([]Alert, error) {
	access, err := s.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	everywhere := access.CanEverywhere(authz.View)
	if all, labs := access.LabsWith(authz.Plan); !everywhere && !all && len(labs) == 0 {
		return nil, apperr.PermissionDenied("alerts are for lab managers, admins and auditors")
	}
	if err := reportingbus.CheckYear(year); err != nil {
		return nil, err
	}
	progresses, err := s.Progresses(ctx, year, func(labID string) bool { return everywhere || access.Can(labID, authz.Plan) })
	if err != nil {
		return nil, err
	}
	var alerts []Alert
	var ids []string
	for _, p := range progresses {
		if p.Progress.Flagged {
			alerts = append(alerts, Alert{LabID: p.LabID, Progress: p.Progress})
			ids = append(ids, p.LabID)
		}
	}
	if len(ids) == 0 {
		return alerts, nil
	}
	names, err := s.labs.Names(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("lab names: %w", err)
	}
	for i := range alerts {
		alerts[i].LabCode, alerts[i].LabName = names[alerts[i].LabID].Code, names[alerts[i].LabID].Name
	}
	return alerts, nil
}

// ScenarioProgress is where the lab's year would stand against the lab's
// own objective (without sub-labs) if its emissions were rollups (a
// scenario's): the baseline stays the actual one. It returns nil when the
// lab has no such objective or the year is before its baseline, and what
// the objective allows in its target year. The caller has been authorised
// to see the lab.
func (s *Objectives) ScenarioProgress(ctx context.Context, labID string, year int32, rollups []reportingbus.Rollup) (*Progress, *float64, error) {
	o, ok, err := s.objectiveOf(ctx, labID, false)
	if err != nil || !ok || year < o.BaselineYear {
		return nil, nil, err
	}
	figures, err := s.labFigures(ctx, []string{labID}, []int32{o.BaselineYear})
	if err != nil {
		return nil, nil, err
	}
	baseline := Figures{}
	if f := figures[o.BaselineYear]; f != nil {
		baseline = *f
	}
	p := o.ProgressOf(year, baseline, figuresOf(rollups)[year])
	target := allowed(baseline.TotalKg, o.reductionAt(o.TargetYear))
	return &p, &target, nil
}
