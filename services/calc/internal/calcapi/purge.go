package calcapi

import (
	"context"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/purgebus"
)

// Purge implements LabPurgeService, the labs service's call when a lab is
// purged.
type Purge struct {
	purges *purgebus.Purges
}

var _ calcv1connect.LabPurgeServiceHandler = (*Purge)(nil)

// NewPurge returns the handler.
func NewPurge(purges *purgebus.Purges) *Purge { return &Purge{purges: purges} }

func (p *Purge) PurgeLabData(ctx context.Context, req *connect.Request[calcv1.PurgeLabDataRequest]) (*connect.Response[calcv1.PurgeLabDataResponse], error) {
	deleted, err := p.purges.PurgeLab(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.PurgeLabDataResponse{RowsDeleted: deleted}), nil
}
