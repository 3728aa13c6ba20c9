package reportingapi

import (
	"context"

	"connectrpc.com/connect"

	auditv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditapi"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/auditbus"
)

// ListLabAuditEvents serves GET /api/v1/labs/{lab_id}/audit.
func (h *Handler) ListLabAuditEvents(ctx context.Context, req *connect.Request[reportingv1.ListLabAuditEventsRequest]) (*connect.Response[reportingv1.ListAuditEventsPage], error) {
	msg := req.Msg
	if msg.GetLabId() == "" {
		return nil, apperr.Invalid("lab_id", "required: the lab whose audit trail to read")
	}
	return h.auditPage(ctx, auditbus.Query{
		LabID: msg.GetLabId(), IncludeSublabs: msg.GetIncludeSublabs(), Since: auditapi.TimeOf(msg.GetSince()), Until: auditapi.TimeOf(msg.GetUntil()),
		Actor: msg.GetActor(), ResourceType: msg.GetResourceType(), Action: msg.GetAction(), PageSize: msg.GetPageSize(), PageToken: msg.GetPageToken(),
	})
}

// ListAuditEvents serves GET /api/v1/audit.
func (h *Handler) ListAuditEvents(ctx context.Context, req *connect.Request[reportingv1.ListAuditEventsRequest]) (*connect.Response[reportingv1.ListAuditEventsPage], error) {
	msg := req.Msg
	return h.auditPage(ctx, auditbus.Query{
		Since: auditapi.TimeOf(msg.GetSince()), Until: auditapi.TimeOf(msg.GetUntil()),
		Actor: msg.GetActor(), ResourceType: msg.GetResourceType(), Action: msg.GetAction(), PageSize: msg.GetPageSize(), PageToken: msg.GetPageToken(),
	})
}

func (h *Handler) auditPage(ctx context.Context, query auditbus.Query) (*connect.Response[reportingv1.ListAuditEventsPage], error) {
	page, err := h.trail.List(ctx, query)
	if err != nil {
		return nil, err
	}
	res := &reportingv1.ListAuditEventsPage{Events: make([]*auditv1.AuditEvent, 0, len(page.Events)), NextPageToken: page.NextPageToken}
	for _, e := range page.Events {
		event, err := auditapi.EventToProto(e.Service, e.Entry)
		if err != nil {
			return nil, err
		}
		res.Events = append(res.Events, event)
	}
	return connect.NewResponse(res), nil
}
