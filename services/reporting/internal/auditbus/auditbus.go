// Package auditbus is the audit trail as people read it: reporting asks
// every service for its own trail (labs, ingest, calc and its own), merges
// them newest first and pages through the result (ADR 018). It decides who
// may read which trail.
package auditbus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// Page sizes of the trail.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

// Source is one service's trail.
type Source interface {
	// Service names the service ("labs", "ingest"...).
	Service() string
	List(ctx context.Context, filter audit.Filter) ([]audit.Entry, error)
}

// Local is the trail of the service that reads them all, from its own
// store rather than over the network.
func Local(service string, store audit.Store) Source { return local{service: service, store: store} }

type local struct {
	service string
	store   audit.Store
}

func (l local) Service() string { return l.service }

func (l local) List(ctx context.Context, filter audit.Filter) ([]audit.Entry, error) {
	return l.store.ListAudit(ctx, filter)
}

// Event is an entry of the merged trail and the service that recorded it.
type Event struct {
	Service string
	audit.Entry
}

// Query asks for one page of a trail.
type Query struct {
	// LabID is the lab whose trail is read; "" reads the whole system's.
	LabID          string
	IncludeSublabs bool
	Since, Until   time.Time
	Actor          string
	ResourceType   string
	Action         string
	PageSize       int32
	PageToken      string
}

// Page is a page of the merged trail, newest first.
type Page struct {
	Events        []Event
	NextPageToken string
}

// Trail reads the services' trails.
type Trail struct {
	sources []Source
	reports *reportingbus.Reports
	authz   *authz.Authorizer
}

// New returns the trail over sources; reports resolves labs and sub-labs.
func New(sources []Source, reports *reportingbus.Reports, authorizer *authz.Authorizer) *Trail {
	return &Trail{sources: sources, reports: reports, authz: authorizer}
}

// cursor is where a page ended: the last event given, in the merged order
// (occurred_at, service, id), newest first.
type cursor struct {
	OccurredAt time.Time `json:"t"`
	Service    string    `json:"s"`
	ID         int64     `json:"i"`
}

// List returns a page of the trail of query.LabID (lab managers of the lab
// or an ancestor, auditors and admins) or, without a lab, of the whole
// system (auditors and admins).
func (t *Trail) List(ctx context.Context, query Query) (Page, error) {
	filter := audit.Filter{Since: query.Since, Until: query.Until, Actor: query.Actor, ResourceType: query.ResourceType, Action: query.Action}
	if query.LabID == "" {
		access, err := t.authz.For(ctx)
		if err != nil {
			return Page{}, err
		}
		if !access.CanEverywhere(authz.Audit) {
			return Page{}, apperr.PermissionDenied("the whole audit trail is for auditors and admins: lab managers read their lab's at /api/v1/labs/{lab_id}/audit")
		}
		filter.AllLabs = true
	} else {
		if err := t.reports.Authorize(ctx, query.LabID, authz.Audit); err != nil {
			return Page{}, err
		}
		ids, err := t.reports.LabIDs(ctx, query.LabID, query.IncludeSublabs)
		if err != nil {
			return Page{}, err
		}
		filter.LabIDs = ids
	}
	size, err := pageSize(query.PageSize)
	if err != nil {
		return Page{}, err
	}
	// Each service gives one more than the page: the page is then the
	// newest of their union, and the extra one tells whether more follow.
	filter.Limit = size + 1
	if err := filter.Validate(); err != nil {
		return Page{}, err
	}
	filterKey := fmt.Sprintf("%s|%v|%s|%s|%q|%q|%q", query.LabID, query.IncludeSublabs,
		query.Since.Format(time.RFC3339Nano), query.Until.Format(time.RFC3339Nano), query.Actor, query.ResourceType, query.Action)
	return t.page(ctx, filter, size, query.PageToken, filterKey)
}

// page returns the size events after the cursor of token, and the token of
// the next page.
func (t *Trail) page(ctx context.Context, filter audit.Filter, size int32, token, filterKey string) (Page, error) {
	var after *cursor
	var decoded cursor
	if found, err := pagetoken.Decode(token, filterKey, &decoded); err != nil {
		return Page{}, err
	} else if found {
		after = &decoded
	}
	events, err := t.gather(ctx, filter, after)
	if err != nil {
		return Page{}, err
	}
	page := Page{Events: events}
	if int32(len(events)) > size {
		page.Events = events[:size]
		last := page.Events[size-1]
		page.NextPageToken, err = pagetoken.Encode(cursor{OccurredAt: last.OccurredAt, Service: last.Service, ID: last.ID}, filterKey)
		if err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// gather asks every service at once and merges their answers newest first.
func (t *Trail) gather(ctx context.Context, filter audit.Filter, after *cursor) ([]Event, error) {
	answers := make([][]Event, len(t.sources))
	failures := make([]error, len(t.sources))
	var wg sync.WaitGroup
	for i, source := range t.sources {
		sourceFilter := filter
		sourceFilter.Before = startOf(source.Service(), after)
		wg.Go(func() {
			entries, err := source.List(ctx, sourceFilter)
			if err != nil {
				// A trail with a service missing would look complete.
				failures[i] = fmt.Errorf("audit trail of %s: %w", source.Service(), err)
				return
			}
			answers[i] = make([]Event, len(entries))
			for j, entry := range entries {
				answers[i][j] = Event{Service: source.Service(), Entry: entry}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(failures...); err != nil {
		return nil, err
	}
	events := slices.Concat(answers...)
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), cmp.Compare(b.Service, a.Service), cmp.Compare(b.ID, a.ID))
	})
	return events, nil
}

// startOf is where service's trail resumes after the merged cursor: its
// events strictly after the cursor in (occurred_at, service, id) order,
// newest first. At the cursor's instant, a service sorted before the
// cursor's has given all its events of that instant, one sorted after none.
func startOf(service string, after *cursor) *audit.Cursor {
	if after == nil {
		return nil
	}
	switch {
	case service == after.Service:
		return &audit.Cursor{OccurredAt: after.OccurredAt, ID: after.ID}
	case service > after.Service:
		return &audit.Cursor{OccurredAt: after.OccurredAt, ID: 0}
	default:
		return &audit.Cursor{OccurredAt: after.OccurredAt, ID: math.MaxInt64}
	}
}

func pageSize(requested int32) (int32, error) {
	switch {
	case requested < 0:
		return 0, apperr.Invalid("page_size", "must not be negative (got %d)", requested)
	case requested == 0:
		return DefaultPageSize, nil
	default:
		return min(requested, MaxPageSize), nil
	}
}
