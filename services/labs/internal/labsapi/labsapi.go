// Package labsapi serves the LabsService over Connect: it maps requests to
// the lab register and its results back, nothing more. Errors become Connect
// codes in the platform's interceptor.
package labsapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
)

// Handler implements labsv1connect.LabsServiceHandler.
type Handler struct {
	labs *labsbus.Business
}

var _ labsv1connect.LabsServiceHandler = (*Handler)(nil)

// New returns the handler over the lab register.
func New(labs *labsbus.Business) *Handler { return &Handler{labs: labs} }

func (h *Handler) CreateLab(ctx context.Context, req *connect.Request[labsv1.CreateLabRequest]) (*connect.Response[labsv1.CreateLabResponse], error) {
	lab, err := h.labs.Create(ctx, fieldsOf(req.Msg.GetLab()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.CreateLabResponse{Lab: toProto(lab)}), nil
}

func (h *Handler) GetLab(ctx context.Context, req *connect.Request[labsv1.GetLabRequest]) (*connect.Response[labsv1.GetLabResponse], error) {
	lab, err := h.labs.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.GetLabResponse{Lab: toProto(lab)}), nil
}

func (h *Handler) ListLabs(ctx context.Context, req *connect.Request[labsv1.ListLabsRequest]) (*connect.Response[labsv1.ListLabsResponse], error) {
	page, err := h.labs.List(ctx, labsbus.ListQuery{
		PageSize:        req.Msg.GetPageSize(),
		PageToken:       req.Msg.GetPageToken(),
		ParentID:        req.Msg.GetParentId(),
		NameContains:    req.Msg.GetNameContains(),
		IncludeArchived: req.Msg.GetIncludeArchived(),
	})
	if err != nil {
		return nil, err
	}
	res := &labsv1.ListLabsResponse{NextPageToken: page.NextPageToken, Labs: make([]*labsv1.Lab, len(page.Labs))}
	for i, lab := range page.Labs {
		res.Labs[i] = toProto(lab)
	}
	return connect.NewResponse(res), nil
}

func (h *Handler) ReplaceLab(ctx context.Context, req *connect.Request[labsv1.ReplaceLabRequest]) (*connect.Response[labsv1.ReplaceLabResponse], error) {
	lab, err := h.labs.Replace(ctx, req.Msg.GetId(), fieldsOf(req.Msg.GetLab()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.ReplaceLabResponse{Lab: toProto(lab)}), nil
}

func (h *Handler) UpdateLab(ctx context.Context, req *connect.Request[labsv1.UpdateLabRequest]) (*connect.Response[labsv1.UpdateLabResponse], error) {
	lab, err := h.labs.Update(ctx, req.Msg.GetId(), fieldsOf(req.Msg.GetLab()), req.Msg.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.UpdateLabResponse{Lab: toProto(lab)}), nil
}

func (h *Handler) DeleteLab(ctx context.Context, req *connect.Request[labsv1.DeleteLabRequest]) (*connect.Response[labsv1.DeleteLabResponse], error) {
	lab, err := h.labs.Delete(ctx, req.Msg.GetId(), req.Msg.GetPurge())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.DeleteLabResponse{Lab: toProto(lab)}), nil
}

func (h *Handler) UnarchiveLab(ctx context.Context, req *connect.Request[labsv1.UnarchiveLabRequest]) (*connect.Response[labsv1.UnarchiveLabResponse], error) {
	lab, err := h.labs.Unarchive(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.UnarchiveLabResponse{Lab: toProto(lab)}), nil
}

func fieldsOf(lab *labsv1.Lab) labsbus.Fields {
	return labsbus.Fields{
		Code:        lab.GetCode(),
		Name:        lab.GetName(),
		Description: lab.GetDescription(),
		ParentID:    lab.GetParentId(),
		Country:     lab.GetCountry(),
	}
}

func toProto(lab labsbus.Lab) *labsv1.Lab {
	out := &labsv1.Lab{
		Id:          lab.ID.String(),
		Code:        lab.Code,
		Name:        lab.Name,
		Description: lab.Description,
		Country:     lab.Country,
		CreatedAt:   timestamppb.New(lab.CreatedAt),
		UpdatedAt:   timestamppb.New(lab.UpdatedAt),
	}
	if lab.ParentID != nil {
		out.ParentId = lab.ParentID.String()
	}
	if lab.ArchivedAt != nil {
		out.ArchivedAt = timestamppb.New(*lab.ArchivedAt)
	}
	return out
}
