package reportingapi

import (
	"context"

	"connectrpc.com/connect"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/purgebus"
)

// Purge implements LabPurgeService, the labs service's call when a lab is
// purged.
type Purge struct {
	purges *purgebus.Purges
}

var _ reportingv1connect.LabPurgeServiceHandler = (*Purge)(nil)

// NewPurge returns the handler.
func NewPurge(purges *purgebus.Purges) *Purge { return &Purge{purges: purges} }

func (p *Purge) PurgeLabData(ctx context.Context, req *connect.Request[reportingv1.PurgeLabDataRequest]) (*connect.Response[reportingv1.PurgeLabDataResponse], error) {
	deleted, err := p.purges.PurgeLab(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&reportingv1.PurgeLabDataResponse{RowsDeleted: deleted}), nil
}
