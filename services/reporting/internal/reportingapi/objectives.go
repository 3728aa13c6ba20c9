package reportingapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/objectivebus"
)

// Objectives implements ObjectiveService.
type Objectives struct {
	objectives *objectivebus.Objectives
}

var _ reportingv1connect.ObjectiveServiceHandler = (*Objectives)(nil)

// NewObjectives returns the handler of ObjectiveService.
func NewObjectives(objectives *objectivebus.Objectives) *Objectives {
	return &Objectives{objectives: objectives}
}

func (h *Objectives) SetObjective(ctx context.Context, req *connect.Request[reportingv1.SetObjectiveRequest]) (*connect.Response[reportingv1.SetObjectiveResponse], error) {
	m := req.Msg
	t, err := h.objectives.Set(ctx, m.GetLabId(), objectivebus.Request{
		IncludeSublabs: m.GetIncludeSublabs(), BaselineYear: m.GetBaselineYear(), TargetYear: m.GetTargetYear(),
		ReductionPct: m.GetReductionPct(), ModuleReductions: m.GetModuleReductions(), ScopeReductions: m.GetScopeReductions(),
		Milestones: m.GetMilestones(), AlertMarginPct: m.AlertMarginPct,
	})
	if err != nil {
		return nil, err
	}
	v := trajectoryToProto(t)
	return connect.NewResponse(&reportingv1.SetObjectiveResponse{Objective: v.Objective, BaselineKgCo2E: v.BaselineKgCo2E, Years: v.Years}), nil
}

func (h *Objectives) GetObjective(ctx context.Context, req *connect.Request[reportingv1.GetObjectiveRequest]) (*connect.Response[reportingv1.GetObjectiveResponse], error) {
	t, err := h.objectives.Get(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	v := trajectoryToProto(t)
	return connect.NewResponse(&reportingv1.GetObjectiveResponse{Objective: v.Objective, BaselineKgCo2E: v.BaselineKgCo2E, Years: v.Years}), nil
}

func (h *Objectives) DeleteObjective(ctx context.Context, req *connect.Request[reportingv1.DeleteObjectiveRequest]) (*connect.Response[reportingv1.DeleteObjectiveResponse], error) {
	o, err := h.objectives.Delete(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&reportingv1.DeleteObjectiveResponse{Objective: objectiveToProto(o)}), nil
}

func (h *Objectives) SetInstitutionObjective(ctx context.Context, req *connect.Request[reportingv1.SetInstitutionObjectiveRequest]) (*connect.Response[reportingv1.SetInstitutionObjectiveResponse], error) {
	m := req.Msg
	t, err := h.objectives.SetInstitution(ctx, objectivebus.Request{
		BaselineYear: m.GetBaselineYear(), TargetYear: m.GetTargetYear(), ReductionPct: m.GetReductionPct(),
		Milestones: m.GetMilestones(), AlertMarginPct: m.AlertMarginPct,
	})
	if err != nil {
		return nil, err
	}
	v := trajectoryToProto(t)
	return connect.NewResponse(&reportingv1.SetInstitutionObjectiveResponse{Objective: v.Objective, BaselineKgCo2E: v.BaselineKgCo2E, Years: v.Years}), nil
}

func (h *Objectives) GetInstitutionObjective(ctx context.Context, _ *connect.Request[reportingv1.GetInstitutionObjectiveRequest]) (*connect.Response[reportingv1.GetInstitutionObjectiveResponse], error) {
	t, err := h.objectives.GetInstitution(ctx)
	if err != nil {
		return nil, err
	}
	v := trajectoryToProto(t)
	return connect.NewResponse(&reportingv1.GetInstitutionObjectiveResponse{Objective: v.Objective, BaselineKgCo2E: v.BaselineKgCo2E, Years: v.Years}), nil
}

func (h *Objectives) DeleteInstitutionObjective(ctx context.Context, _ *connect.Request[reportingv1.DeleteInstitutionObjectiveRequest]) (*connect.Response[reportingv1.DeleteInstitutionObjectiveResponse], error) {
	o, err := h.objectives.DeleteInstitution(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&reportingv1.DeleteInstitutionObjectiveResponse{Objective: objectiveToProto(o)}), nil
}

func (h *Objectives) ListAlerts(ctx context.Context, req *connect.Request[reportingv1.ListAlertsRequest]) (*connect.Response[reportingv1.ListAlertsResponse], error) {
	alerts, err := h.objectives.Alerts(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	out := &reportingv1.ListAlertsResponse{Year: req.Msg.GetYear()}
	for _, a := range alerts {
		out.Alerts = append(out.Alerts, &reportingv1.Alert{LabId: a.LabID, LabCode: a.LabCode, LabName: a.LabName, Progress: progressToProto(&a.Progress)})
	}
	return connect.NewResponse(out), nil
}

func objectiveToProto(o objectivebus.Objective) *reportingv1.Objective {
	return &reportingv1.Objective{
		Id: o.ID.String(), LabId: o.LabID, IncludeSublabs: o.IncludeSublabs, BaselineYear: o.BaselineYear, TargetYear: o.TargetYear,
		ReductionPct: o.ReductionPct, ModuleReductions: o.ModuleReductions, ScopeReductions: o.ScopeReductions, Milestones: o.Milestones,
		AlertMarginPct: o.AlertMarginPct, CreatedBy: o.CreatedBy, CreatedAt: timestamppb.New(o.CreatedAt),
		UpdatedBy: o.UpdatedBy, UpdatedAt: timestamppb.New(o.UpdatedAt),
	}
}

func trajectoryToProto(t objectivebus.Trajectory) *reportingv1.ObjectiveView {
	out := &reportingv1.ObjectiveView{Objective: objectiveToProto(t.Objective), BaselineKgCo2E: t.BaselineKg}
	for i := range t.Years {
		out.Years = append(out.Years, progressToProto(&t.Years[i]))
	}
	return out
}

// progressToProto is nil for nil: no objective for that year.
func progressToProto(p *objectivebus.Progress) *reportingv1.ObjectiveProgress {
	if p == nil {
		return nil
	}
	out := &reportingv1.ObjectiveProgress{
		Year: p.Year, BaselineYear: p.BaselineYear, TargetYear: p.TargetYear, ReductionPct: p.ReductionPct,
		AllowedKgCo2E: p.AllowedKg, ActualKgCo2E: p.ActualKg, GapKgCo2E: p.GapKg, GapPct: p.GapPct, OnTrack: p.OnTrack,
		Flagged: p.Flagged, Reasons: p.Reasons,
	}
	for _, group := range []struct {
		from []objectivebus.TargetProgress
		into *[]*reportingv1.TargetProgress
	}{{p.Modules, &out.Modules}, {p.Scopes, &out.Scopes}} {
		for _, t := range group.from {
			*group.into = append(*group.into, &reportingv1.TargetProgress{
				Name: t.Name, ReductionPct: t.ReductionPct, BaselineKgCo2E: t.BaselineKg, AllowedKgCo2E: t.AllowedKg,
				ActualKgCo2E: t.ActualKg, GapKgCo2E: t.GapKg, GapPct: t.GapPct, Flagged: t.Flagged,
			})
		}
	}
	return out
}
