package ingestapi

import (
	"context"

	"connectrpc.com/connect"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
)

// PurgeHandler implements LabPurgeService.
type PurgeHandler struct {
	imports *ingestbus.Business
}

var _ ingestv1connect.LabPurgeServiceHandler = (*PurgeHandler)(nil)

// NewPurge returns the handler of lab purges.
func NewPurge(imports *ingestbus.Business) *PurgeHandler { return &PurgeHandler{imports: imports} }

func (h *PurgeHandler) PurgeLabData(ctx context.Context, req *connect.Request[ingestv1.PurgeLabDataRequest]) (*connect.Response[ingestv1.PurgeLabDataResponse], error) {
	deleted, err := h.imports.PurgeLab(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.PurgeLabDataResponse{RowsDeleted: deleted}), nil
}
