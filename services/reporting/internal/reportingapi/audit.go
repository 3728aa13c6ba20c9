package reportingapi

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/auditbus"
)

// toAuditEvent is an event of the merged trail as the API shows it.
func toAuditEvent(service string, e audit.Entry) (*auditv1.AuditEvent, error) {
	event := &auditv1.AuditEvent{
		Id: e.ID, Service: service, OccurredAt: timestamppb.New(e.OccurredAt), ActorSubject: e.ActorSubject,
		ActorEmail: e.ActorEmail, LabId: e.LabID, ResourceType: e.ResourceType, ResourceId: e.ResourceID,
		Action: e.Action, TraceId: e.TraceID,
	}
	var err error
	if event.Before, err = jsonValue(e.Before); err != nil {
		return nil, err
	}
	if event.After, err = jsonValue(e.After); err != nil {
		return nil, err
	}
	return event, nil
}

// ListLabAuditEvents serves GET /api/v1/labs/{lab_id}/audit.
func (h *Handler) ListLabAuditEvents(ctx context.Context, req *connect.Request[reportingv1.ListLabAuditEventsRequest]) (*connect.Response[reportingv1.ListAuditEventsPage], error) {
	msg := req.Msg
	if msg.GetLabId() == "" {
		return nil, apperr.Invalid("lab_id", "required: the lab whose audit trail to read")
	}
	return h.auditPage(ctx, auditbus.Query{
		LabID: msg.GetLabId(), IncludeSublabs: msg.GetIncludeSublabs(), Since: timeOf(msg.GetSince()), Until: timeOf(msg.GetUntil()),
		Actor: msg.GetActor(), ResourceType: msg.GetResourceType(), Action: msg.GetAction(), PageSize: msg.GetPageSize(), PageToken: msg.GetPageToken(),
	})
}

// ListAuditEvents serves GET /api/v1/audit.
func (h *Handler) ListAuditEvents(ctx context.Context, req *connect.Request[reportingv1.ListAuditEventsRequest]) (*connect.Response[reportingv1.ListAuditEventsPage], error) {
	msg := req.Msg
	return h.auditPage(ctx, auditbus.Query{
		Since: timeOf(msg.GetSince()), Until: timeOf(msg.GetUntil()),
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
		event, err := toAuditEvent(e.Service, e.Entry)
		if err != nil {
			return nil, err
		}
		res.Events = append(res.Events, event)
	}
	return connect.NewResponse(res), nil
}

func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// jsonValue carries a stored JSON value; nil (none) stays absent.
func jsonValue(raw []byte) (*structpb.Value, error) {
	if raw == nil {
		return nil, nil
	}
	value := &structpb.Value{}
	if err := protojson.Unmarshal(raw, value); err != nil {
		return nil, err
	}
	return value, nil
}
