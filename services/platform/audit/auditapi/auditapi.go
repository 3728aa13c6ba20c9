// Package auditapi serves a service's own audit trail over the internal
// AuditService (ADR 018). The contract is common to every service, not one
// service's API, so the one mapping lives here and each service mounts it.
package auditapi

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1/auditv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Handler serves a service's own audit trail to reporting.
type Handler struct {
	service string
	trail   *audit.Trail
}

var _ auditv1connect.AuditServiceHandler = (*Handler)(nil)

// NewHandler returns the handler of the trail of service.
func NewHandler(service string, trail *audit.Trail) *Handler {
	return &Handler{service: service, trail: trail}
}

func (h *Handler) ListAuditEvents(ctx context.Context, req *connect.Request[auditv1.ListAuditEventsRequest]) (*connect.Response[auditv1.ListAuditEventsResponse], error) {
	msg := req.Msg
	filter := audit.Filter{
		AllLabs: msg.GetAllLabs(), LabIDs: msg.GetLabIds(), Since: TimeOf(msg.GetSince()), Until: TimeOf(msg.GetUntil()),
		Actor: msg.GetActor(), ResourceType: msg.GetResourceType(), Action: msg.GetAction(), Limit: msg.GetLimit(),
	}
	if msg.GetBeforeTime() != nil {
		filter.Before = &audit.Cursor{OccurredAt: msg.GetBeforeTime().AsTime(), ID: msg.GetBeforeId()}
	}
	entries, err := h.trail.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	res := &auditv1.ListAuditEventsResponse{Events: make([]*auditv1.AuditEvent, 0, len(entries))}
	for _, e := range entries {
		event, err := EventToProto(h.service, e)
		if err != nil {
			return nil, err
		}
		res.Events = append(res.Events, event)
	}
	return connect.NewResponse(res), nil
}

// EventToProto is an entry of service's trail as the API shows it (the
// services' AuditService and reporting's merged trail alike).
func EventToProto(service string, e audit.Entry) (*auditv1.AuditEvent, error) {
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

// TimeOf is a request's optional timestamp; absent is the zero time.
func TimeOf(t *timestamppb.Timestamp) time.Time {
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
