package labsapi

import (
	"context"

	"connectrpc.com/connect"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
)

// InternalHandler serves LabsInternalService to other services.
type InternalHandler struct {
	labs *labsbus.Business
}

var _ labsv1connect.LabsInternalServiceHandler = (*InternalHandler)(nil)

// NewInternal returns the internal handler over the lab register.
func NewInternal(labs *labsbus.Business) *InternalHandler { return &InternalHandler{labs: labs} }

func (h *InternalHandler) BatchGetLabs(ctx context.Context, req *connect.Request[labsv1.BatchGetLabsRequest]) (*connect.Response[labsv1.BatchGetLabsResponse], error) {
	labs, err := h.labs.BatchGet(ctx, req.Msg.GetIds())
	if err != nil {
		return nil, err
	}
	res := &labsv1.BatchGetLabsResponse{Labs: make([]*labsv1.Lab, len(labs))}
	for i, lab := range labs {
		res.Labs[i] = toProto(lab)
	}
	return connect.NewResponse(res), nil
}
