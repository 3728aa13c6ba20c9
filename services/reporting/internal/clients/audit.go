package clients

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1/auditv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/auditbus"
)

// AuditSource reads one service's audit trail (its AuditService) with the
// service identity.
type AuditSource struct {
	service string
	client  auditv1connect.AuditServiceClient
}

var _ auditbus.Source = (*AuditSource)(nil)

// NewAuditSource returns the trail of service at baseURL; options carry
// the service token.
func NewAuditSource(service string, httpClient *http.Client, baseURL string, options ...connect.ClientOption) *AuditSource {
	return &AuditSource{service: service, client: auditv1connect.NewAuditServiceClient(httpClient, baseURL, options...)}
}

// Service implements auditbus.Source.
func (a *AuditSource) Service() string { return a.service }

// List implements auditbus.Source.
func (a *AuditSource) List(ctx context.Context, filter audit.Filter) ([]audit.Entry, error) {
	req := &auditv1.ListAuditEventsRequest{
		AllLabs: filter.AllLabs, LabIds: filter.LabIDs, Actor: filter.Actor, ResourceType: filter.ResourceType,
		Action: filter.Action, Limit: filter.Limit,
	}
	if !filter.Since.IsZero() {
		req.Since = timestamppb.New(filter.Since)
	}
	if !filter.Until.IsZero() {
		req.Until = timestamppb.New(filter.Until)
	}
	if filter.Before != nil {
		req.BeforeTime, req.BeforeId = timestamppb.New(filter.Before.OccurredAt), filter.Before.ID
	}
	res, err := a.client.ListAuditEvents(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	entries := make([]audit.Entry, 0, len(res.Msg.GetEvents()))
	for _, e := range res.Msg.GetEvents() {
		entry := audit.Entry{
			ID: e.GetId(), OccurredAt: e.GetOccurredAt().AsTime(), ActorSubject: e.GetActorSubject(), ActorEmail: e.GetActorEmail(),
			LabID: e.GetLabId(), ResourceType: e.GetResourceType(), ResourceID: e.GetResourceId(), Action: e.GetAction(), TraceID: e.GetTraceId(),
		}
		if e.GetBefore() != nil {
			if entry.Before, err = protojson.Marshal(e.GetBefore()); err != nil {
				return nil, err
			}
		}
		if e.GetAfter() != nil {
			if entry.After, err = protojson.Marshal(e.GetAfter()); err != nil {
				return nil, err
			}
		}
		entries = append(entries, entry)
	}
	return entries, nil
}
