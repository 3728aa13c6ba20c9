// Package audit is the audit trail every service keeps of its own changes
// (ADR 018): the event a business layer records in the transaction of the
// change, who made it (the caller of the request), and the bounded,
// keyset-paginated query reporting reads each service's trail with.
// Storing is in auditpg; this package knows no database.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Actions recorded, shared by the services so the same change has the same
// name everywhere.
const (
	ActionCreate     = "create"
	ActionReplace    = "replace"
	ActionUpdate     = "update"
	ActionDelete     = "delete"
	ActionArchive    = "archive"
	ActionUnarchive  = "unarchive"
	ActionPurge      = "purge"
	ActionSet        = "set"
	ActionUpload     = "upload"
	ActionActivate   = "activate"
	ActionCancel     = "cancel"
	ActionRetry      = "retry"
	ActionFinish     = "finish"
	ActionFail       = "fail"
	ActionStart      = "start"
	ActionAddMember  = "add_member"
	ActionDropMember = "remove_member"
	ActionValidate   = "validate"
	ActionReject     = "reject"
	ActionClose      = "close"
	ActionReopen     = "reopen"
)

// Event is one change, as a business layer records it.
type Event struct {
	// LabID is the lab the change belongs to; "" for what belongs to no lab
	// (factor datasets), which only the all-labs trail shows.
	LabID        string
	ResourceType string
	ResourceID   string
	Action       string
	// Before and After are the resource before and after the change, each
	// encoded as JSON; nil (no resource) on the side of a creation or a
	// deletion.
	Before, After any
}

// Actor is who made a change.
type Actor struct {
	Subject string
	Email   string
}

// SystemSubject prefixes the actor of a change a service makes on its own,
// with no caller (a safety net failing an expired job).
const SystemSubject = "system:"

// ActorOf returns the caller of the request ctx belongs to: the person, or
// the service identity a worker acts with. A change made with no caller at
// all is the service's own (system:<service>).
func ActorOf(ctx context.Context, service string) Actor {
	if principal, ok := authn.FromContext(ctx); ok && principal.Subject != "" {
		return Actor{Subject: principal.Subject, Email: principal.Email}
	}
	return Actor{Subject: SystemSubject + service}
}

// TraceID is the trace the change was made in ("" when untraced), to find
// its logs and spans.
func TraceID(ctx context.Context) string {
	if span := trace.SpanContextFromContext(ctx); span.IsValid() {
		return span.TraceID().String()
	}
	return ""
}

// Encode turns a before or after value into JSON, nil staying nil.
func Encode(value any) ([]byte, error) {
	if value == nil {
		return nil, nil
	}
	if raw, ok := value.(json.RawMessage); ok {
		return raw, nil
	}
	encoded, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("audit value: %w", err)
	}
	if string(encoded) == "null" {
		return nil, nil
	}
	return encoded, nil
}

// Entry is one recorded event, as read back.
type Entry struct {
	ID           int64
	OccurredAt   time.Time
	ActorSubject string
	ActorEmail   string
	LabID        string
	ResourceType string
	ResourceID   string
	Action       string
	Before       json.RawMessage
	After        json.RawMessage
	TraceID      string
}

// Cursor is where a page of the trail ends: events strictly older in
// (OccurredAt, ID) order come next.
type Cursor struct {
	OccurredAt time.Time
	ID         int64
}

// Filter narrows a service's trail. Zero fields do not narrow.
type Filter struct {
	// AllLabs reads every event, those of no lab included; otherwise only
	// the events of LabIDs.
	AllLabs      bool
	LabIDs       []string
	Since, Until time.Time // Since inclusive, Until exclusive
	// Actor matches the subject or the email of the actor.
	Actor        string
	ResourceType string
	Action       string
	// Before, when set, starts after this point (keyset pagination, newest
	// first).
	Before *Cursor
	Limit  int32
}

// Bounds of one query of a trail.
const (
	// MaxLimit is the most events one query returns; a page of the public
	// endpoint asks each service for one more than the page.
	MaxLimit = 501
	// MaxLabs is the most labs one query names (a lab and its sub-labs).
	MaxLabs = 10000
	// maxText bounds the text filters.
	maxText = 320
)

// Validate refuses a filter no trail can answer, naming the field to fix.
func (f Filter) Validate() error {
	var violations apperr.Violations
	if f.Limit < 1 || f.Limit > MaxLimit {
		violations.Add("limit", "must be from 1 to %d (got %d)", MaxLimit, f.Limit)
	}
	if !f.AllLabs && len(f.LabIDs) == 0 {
		violations.Add("lab_ids", "name at least one lab, or ask for all labs")
	}
	if len(f.LabIDs) > MaxLabs {
		violations.Add("lab_ids", "at most %d labs per query (got %d)", MaxLabs, len(f.LabIDs))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		violations.Add("since", "must be before until")
	}
	for field, value := range map[string]string{"actor": f.Actor, "resource_type": f.ResourceType, "action": f.Action} {
		if len(value) > maxText {
			violations.Add(field, "at most %d characters", maxText)
		}
	}
	return violations.Err()
}

// Store reads one service's trail.
type Store interface {
	ListAudit(ctx context.Context, filter Filter) ([]Entry, error)
}

// Trail serves a service's own trail to reporting, the one service that
// reads them all (the internal AuditService).
type Trail struct {
	store Store
}

// NewTrail returns the trail read from store.
func NewTrail(store Store) *Trail { return &Trail{store: store} }

// List returns the events filter selects, newest first: reporting's
// service identity only.
func (t *Trail) List(ctx context.Context, filter Filter) ([]Entry, error) {
	if err := authz.RequireService(ctx, "reporting"); err != nil {
		return nil, err
	}
	if err := filter.Validate(); err != nil {
		return nil, err
	}
	entries, err := t.store.ListAudit(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return entries, nil
}
