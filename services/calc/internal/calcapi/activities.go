package calcapi

import (
	"context"
	"encoding/json"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/validationbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Activities implements ActivityService over the single-entry path and the
// validations.
type Activities struct {
	entries     *entrybus.Entries
	validations *validationbus.Validations
}

var _ calcv1connect.ActivityServiceHandler = (*Activities)(nil)

// NewActivities returns the handler.
func NewActivities(entries *entrybus.Entries, validations *validationbus.Validations) *Activities {
	return &Activities{entries: entries, validations: validations}
}

func (a *Activities) CreateActivity(ctx context.Context, req *connect.Request[calcv1.CreateActivityRequest]) (*connect.Response[calcv1.CreateActivityResponse], error) {
	activity, err := a.entries.Create(ctx, req.Msg.GetLabId(), req.Msg.GetYear(), req.Msg.GetKind(), req.Msg.GetValues())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.CreateActivityResponse{Activity: activityToProto(activity)}), nil
}

func (a *Activities) ListActivities(ctx context.Context, req *connect.Request[calcv1.ListActivitiesRequest]) (*connect.Response[calcv1.ListActivitiesResponse], error) {
	page, err := a.entries.List(ctx, req.Msg.GetLabId(), entrybus.Filter{
		Year: req.Msg.GetYear(), Module: req.Msg.GetModule(), Kind: req.Msg.GetKind(), Source: req.Msg.GetSource(),
		State: req.Msg.GetState(),
	}, req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListActivitiesResponse{NextPageToken: page.NextPageToken}
	for _, activity := range page.Activities {
		res.Activities = append(res.Activities, activityToProto(activity))
	}
	return connect.NewResponse(res), nil
}

func (a *Activities) GetActivity(ctx context.Context, req *connect.Request[calcv1.GetActivityRequest]) (*connect.Response[calcv1.GetActivityResponse], error) {
	activity, err := a.entries.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.GetActivityResponse{Activity: activityToProto(activity)}), nil
}

func (a *Activities) ReplaceActivity(ctx context.Context, req *connect.Request[calcv1.ReplaceActivityRequest]) (*connect.Response[calcv1.ReplaceActivityResponse], error) {
	activity, err := a.entries.Replace(ctx, req.Msg.GetId(), req.Msg.GetYear(), req.Msg.GetValues())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ReplaceActivityResponse{Activity: activityToProto(activity)}), nil
}

func (a *Activities) DeleteActivity(ctx context.Context, req *connect.Request[calcv1.DeleteActivityRequest]) (*connect.Response[calcv1.DeleteActivityResponse], error) {
	if err := a.entries.Delete(ctx, req.Msg.GetId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.DeleteActivityResponse{}), nil
}

func activityToProto(activity entrybus.Activity) *calcv1.Activity {
	out := &calcv1.Activity{
		Id: activity.ID.String(), LabId: activity.LabID.String(), Year: activity.Year, Module: activity.Module,
		Kind: activity.Kind, Source: activity.Source, CreatedAt: timestamppb.New(activity.CreatedAt),
		State: activity.State, StateReason: activity.StateReason, StateBy: activity.StateBy,
	}
	if activity.StateAt != nil {
		out.StateAt = timestamppb.New(*activity.StateAt)
	}
	if activity.ImportID != nil {
		out.ImportId = activity.ImportID.String()
	}
	var inputs map[string]any
	if json.Unmarshal(activity.Inputs, &inputs) == nil {
		out.Inputs, _ = structpb.NewStruct(inputs)
	}
	for _, e := range activity.Emissions {
		var factorID string
		if e.FactorID != (uuid.UUID{}) {
			factorID = e.FactorID.String()
		}
		out.Emissions = append(out.Emissions, &calcv1.Emission{
			Variant: e.Variant, EmissionType: e.EmissionType, Scope: int32(e.Scope), Quantity: e.Quantity,
			QuantityUnit: e.QuantityUnit, KgCo2E: e.KgCO2e, FactorId: factorID, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, FactorDataset: e.FactorDataset, Overridden: e.Overridden, Fallback: e.Fallback,
		})
	}
	return out
}

func (a *Activities) ValidateActivity(ctx context.Context, req *connect.Request[calcv1.ValidateActivityRequest]) (*connect.Response[calcv1.ValidateActivityResponse], error) {
	if err := a.validations.Validate(ctx, req.Msg.GetLabId(), req.Msg.GetId()); err != nil {
		return nil, err
	}
	activity, err := a.entries.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ValidateActivityResponse{Activity: activityToProto(activity)}), nil
}

func (a *Activities) RejectActivity(ctx context.Context, req *connect.Request[calcv1.RejectActivityRequest]) (*connect.Response[calcv1.RejectActivityResponse], error) {
	if err := a.validations.Reject(ctx, req.Msg.GetLabId(), req.Msg.GetId(), req.Msg.GetReason()); err != nil {
		return nil, err
	}
	activity, err := a.entries.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.RejectActivityResponse{Activity: activityToProto(activity)}), nil
}

func (a *Activities) ValidateActivities(ctx context.Context, req *connect.Request[calcv1.ValidateActivitiesRequest]) (*connect.Response[calcv1.ValidateActivitiesResponse], error) {
	selection, err := selectionOf(req.Msg.GetSelection())
	if err != nil {
		return nil, err
	}
	validated, err := a.validations.ValidateSet(ctx, req.Msg.GetLabId(), selection)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ValidateActivitiesResponse{Validated: validated}), nil
}

func (a *Activities) RejectActivities(ctx context.Context, req *connect.Request[calcv1.RejectActivitiesRequest]) (*connect.Response[calcv1.RejectActivitiesResponse], error) {
	selection, err := selectionOf(req.Msg.GetSelection())
	if err != nil {
		return nil, err
	}
	rejected, err := a.validations.RejectSet(ctx, req.Msg.GetLabId(), selection, req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.RejectActivitiesResponse{Rejected: rejected}), nil
}

func selectionOf(msg *calcv1.ActivitySelection) (validationbus.Selection, error) {
	selection := validationbus.Selection{Year: msg.GetYear(), Module: msg.GetModule(), Kind: msg.GetKind(), Source: msg.GetSource()}
	if raw := msg.GetImportId(); raw != "" {
		importID, err := uuid.Parse(raw)
		if err != nil {
			return validationbus.Selection{}, apperr.Invalid("selection.import_id", "%q is not an import id (a UUID)", raw)
		}
		selection.ImportID = &importID
	}
	return selection, nil
}
