package calcapi

import (
	"context"
	"maps"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/scenariobus"
)

// Scenarios implements ScenarioService.
type Scenarios struct {
	scenarios *scenariobus.Scenarios
}

var _ calcv1connect.ScenarioServiceHandler = (*Scenarios)(nil)

// NewScenarios returns the handler.
func NewScenarios(scenarios *scenariobus.Scenarios) *Scenarios {
	return &Scenarios{scenarios: scenarios}
}

func (h *Scenarios) CreateScenario(ctx context.Context, req *connect.Request[calcv1.CreateScenarioRequest]) (*connect.Response[calcv1.CreateScenarioResponse], error) {
	created, err := h.scenarios.Create(ctx, req.Msg.GetLabId(), definitionOf(req.Msg.GetScenario()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.CreateScenarioResponse{Scenario: ScenarioToProto(created)}), nil
}

func (h *Scenarios) ListScenarios(ctx context.Context, req *connect.Request[calcv1.ListScenariosRequest]) (*connect.Response[calcv1.ListScenariosResponse], error) {
	found, err := h.scenarios.List(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListScenariosResponse{Scenarios: make([]*calcv1.Scenario, 0, len(found))}
	for _, s := range found {
		listed := ScenarioToProto(s) // totals as last computed
		listed.Results = nil
		res.Scenarios = append(res.Scenarios, listed)
	}
	return connect.NewResponse(res), nil
}

func (h *Scenarios) GetScenario(ctx context.Context, req *connect.Request[calcv1.GetScenarioRequest]) (*connect.Response[calcv1.GetScenarioResponse], error) {
	found, err := h.scenarios.Get(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.GetScenarioResponse{Scenario: ScenarioToProto(found)}), nil
}

func (h *Scenarios) ReplaceScenario(ctx context.Context, req *connect.Request[calcv1.ReplaceScenarioRequest]) (*connect.Response[calcv1.ReplaceScenarioResponse], error) {
	replaced, err := h.scenarios.Replace(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId(), definitionOf(req.Msg.GetScenario()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ReplaceScenarioResponse{Scenario: ScenarioToProto(replaced)}), nil
}

func (h *Scenarios) DeleteScenario(ctx context.Context, req *connect.Request[calcv1.DeleteScenarioRequest]) (*connect.Response[calcv1.DeleteScenarioResponse], error) {
	if err := h.scenarios.Delete(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.DeleteScenarioResponse{}), nil
}

func (h *Scenarios) SetScenarioRow(ctx context.Context, req *connect.Request[calcv1.SetScenarioRowRequest]) (*connect.Response[calcv1.SetScenarioRowResponse], error) {
	changed, err := h.scenarios.SetRow(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId(), req.Msg.GetRowId(), rowChangeOf(req.Msg.GetRow()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.SetScenarioRowResponse{Scenario: ScenarioToProto(changed)}), nil
}

func (h *Scenarios) AddScenarioRow(ctx context.Context, req *connect.Request[calcv1.AddScenarioRowRequest]) (*connect.Response[calcv1.AddScenarioRowResponse], error) {
	changed, err := h.scenarios.AddRow(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId(), rowChangeOf(req.Msg.GetRow()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.AddScenarioRowResponse{Scenario: ScenarioToProto(changed)}), nil
}

func (h *Scenarios) RemoveScenarioRow(ctx context.Context, req *connect.Request[calcv1.RemoveScenarioRowRequest]) (*connect.Response[calcv1.RemoveScenarioRowResponse], error) {
	changed, err := h.scenarios.RemoveRow(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId(), req.Msg.GetRowId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.RemoveScenarioRowResponse{Scenario: ScenarioToProto(changed)}), nil
}

func (h *Scenarios) ResetScenarioRow(ctx context.Context, req *connect.Request[calcv1.ResetScenarioRowRequest]) (*connect.Response[calcv1.ResetScenarioRowResponse], error) {
	changed, err := h.scenarios.ResetRow(ctx, req.Msg.GetLabId(), req.Msg.GetScenarioId(), req.Msg.GetRowId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ResetScenarioRowResponse{Scenario: ScenarioToProto(changed)}), nil
}

func definitionOf(s *calcv1.Scenario) scenariobus.Definition {
	d := scenariobus.Definition{Year: s.GetYear(), Name: s.GetName(), Description: s.GetDescription()}
	for _, r := range s.GetRules() {
		rule := scenariobus.Rule{
			Description: r.GetDescription(), Kind: r.GetKind(), Set: r.GetSet(), Scale: r.GetScale(), ToKind: r.GetToKind(),
			Rename: r.GetRename(), Remove: r.GetRemove(),
		}
		for _, c := range r.GetWhere() {
			rule.Where = append(rule.Where, scenariobus.Condition{Column: c.GetColumn(), Op: c.GetOp(), Value: c.GetValue(), Values: c.GetValues()})
		}
		if c := r.GetContract(); c != nil {
			rule.Contract = &scenariobus.Contract{Supplier: c.GetSupplier(), KgPerKWh: c.GetKgCo2EPerKwh(), UncertaintyPct: c.GetUncertaintyPct(), Source: c.GetSource()}
		}
		d.Rules = append(d.Rules, rule)
	}
	return d
}

func rowChangeOf(r *calcv1.ScenarioRow) scenariobus.RowChange {
	return scenariobus.RowChange{Kind: r.GetKind(), Values: r.GetValues()}
}

// ScenarioToProto is a scenario on the wire.
func ScenarioToProto(s scenariobus.Scenario) *calcv1.Scenario {
	totals := scenariobus.TotalsOf(s.Results)
	out := &calcv1.Scenario{
		Id: s.ID.String(), LabId: s.LabID.String(), Year: s.Year, Name: s.Name, Description: s.Description,
		Activities: s.Activities, ComputedRows: s.ComputedRows, RuleMatches: s.RuleMatches,
		FactorDataset: s.Factors.Dataset, FactorVersion: s.Factors.Version,
		KgCo2E: totals.KgCO2e, Scope2MarketBasedKgCo2E: totals.Scope2Market, Revision: s.Revision,
		CreatedBy: s.CreatedBy, CreatedAt: timestamppb.New(s.CreatedAt), UpdatedBy: s.UpdatedBy, UpdatedAt: timestamppb.New(s.UpdatedAt),
	}
	if s.ComputedAt != nil {
		out.ComputedAt = timestamppb.New(*s.ComputedAt)
	}
	for _, r := range s.Rules {
		rule := &calcv1.ScenarioRule{
			Description: r.Description, Kind: r.Kind, Set: maps.Clone(r.Set), Scale: maps.Clone(r.Scale), ToKind: r.ToKind,
			Rename: maps.Clone(r.Rename), Remove: r.Remove,
		}
		for _, c := range r.Where {
			rule.Where = append(rule.Where, &calcv1.ScenarioCondition{Column: c.Column, Op: c.Op, Value: c.Value, Values: c.Values})
		}
		if c := r.Contract; c != nil {
			rule.Contract = &calcv1.ScenarioContract{Supplier: c.Supplier, KgCo2EPerKwh: c.KgPerKWh, UncertaintyPct: c.UncertaintyPct, Source: c.Source}
		}
		out.Rules = append(out.Rules, rule)
	}
	for _, e := range s.Edits {
		out.Edits = append(out.Edits, &calcv1.ScenarioRow{
			RowId: e.RowID.String(), Kind: e.Kind, Values: e.Values(), Added: e.Added, Removed: e.Removed,
			EditedBy: e.EditedBy, EditedAt: timestamppb.New(e.EditedAt),
		})
	}
	for _, r := range s.Results {
		out.Results = append(out.Results, &calcv1.ScenarioResult{
			Module: r.Module, EmissionType: r.Key.EmissionType, Scope: int32(r.Key.Scope), Variant: r.Key.Variant,
			FactorDataset: r.Key.FactorDataset, FactorVersion: r.Key.FactorVersion, QuantityUnit: r.Key.QuantityUnit,
			Quantity: r.Sum.Quantity, KgCo2E: r.Sum.KgCO2e, UncertaintySq: r.Sum.UncertaintySq, Entries: r.Sum.Entries,
			FactorId: factorIDText(r.Key.FactorID), UncertaintyLinear: r.Sum.UncertaintyLinear,
			Overridden: r.Sum.Overridden, Fallback: r.Sum.Fallback,
		})
	}
	return out
}
