// Package yearbus opens and closes labs' reporting years (ADR 019): who
// may, and which changes are allowed. The writers (imports, entries,
// validations, contracts, recalculations) check the year themselves, under
// the lock a close takes.
package yearbus

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Everywhere is the lab id of the institution's closing of a year for every
// lab.
var Everywhere = uuid.UUID{}

// ErrUnchanged is what a store returns when the year is already in the
// state asked for.
var ErrUnchanged = errors.New("unchanged")

// Year is a lab's reporting year.
type Year struct {
	LabID     uuid.UUID
	Year      int32
	State     string
	ChangedBy string
	ChangedAt *time.Time
}

// ResourceYear names reporting years in the audit trail (id: the year).
const ResourceYear = "reporting_year"

// yearState is a lab's year as the audit trail keeps it.
type yearState struct {
	LabID uuid.UUID `json:"lab_id"`
	Year  int32     `json:"year"`
	State string    `json:"state"`
}

// YearEvent is the audit event of a lab's year closed or reopened, which
// the store records in the transaction of the change.
func YearEvent(labID uuid.UUID, year int32, before, after string) audit.Event {
	action := audit.ActionReopen
	if after == ledger.YearStateClosed {
		action = audit.ActionClose
	}
	return audit.Event{LabID: labID.String(), ResourceType: ResourceYear, ResourceID: strconv.Itoa(int(year)), Action: action,
		Before: yearState{LabID: labID, Year: year, State: before}, After: yearState{LabID: labID, Year: year, State: after}}
}

// EverywhereEvent is the audit event of the institution's close of a year,
// which belongs to no lab (each lab it closes has its own event, with
// every_lab set): how many labs calc knows of (with data, a contract or a
// state in any year) it closed; labs calc holds nothing for are closed too,
// and this event is their record.
func EverywhereEvent(year int32, before string, labsClosed int64) audit.Event {
	return audit.Event{ResourceType: ResourceYear, ResourceID: strconv.Itoa(int(year)), Action: audit.ActionClose,
		Before: map[string]any{"year": year, "state": before, "every_lab": true},
		After:  map[string]any{"year": year, "state": ledger.YearStateClosed, "every_lab": true, "labs_closed": labsClosed}}
}

// Store keeps the years' states.
type Store interface {
	ListYears(ctx context.Context, labID uuid.UUID) ([]Year, error)
	GetYear(ctx context.Context, labID uuid.UUID, year int32) (Year, error)
	// SetYear waits for the writes in progress to the lab's year, then
	// sets its state and records the change (YearEvent); ErrUnchanged when
	// it was in it already.
	SetYear(ctx context.Context, labID uuid.UUID, year int32, state, by string) (Year, error)
	// CloseEverywhere waits for the writes in progress to the year in any
	// lab, then closes it for every lab and says how many labs that had
	// reopened it close again; ErrUnchanged when no lab had it open. It
	// records one event per lab it closes and one for the institution's
	// close (EverywhereEvent).
	CloseEverywhere(ctx context.Context, year int32, by string) (int64, error)
}

// Years are the labs' reporting years.
type Years struct {
	store Store
	authz *authz.Authorizer
}

// New returns the years.
func New(store Store, authorizer *authz.Authorizer) *Years {
	return &Years{store: store, authz: authorizer}
}

// List returns the years labID has data, a contract or a state in.
func (y *Years) List(ctx context.Context, labID string) ([]Year, error) {
	lab, _, err := y.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return y.store.ListYears(ctx, lab)
}

// Get returns one year of labID.
func (y *Years) Get(ctx context.Context, labID string, year int32) (Year, error) {
	lab, _, err := y.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return Year{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return Year{}, err
	}
	return y.store.GetYear(ctx, lab, year)
}

// Close closes labID's year: lab managers (of the lab or an ancestor) and
// admins.
func (y *Years) Close(ctx context.Context, labID string, year int32) (Year, error) {
	lab, access, err := y.authz.RequireLab(ctx, labID, authz.CloseYear)
	if err != nil {
		return Year{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return Year{}, err
	}
	closed, err := y.store.SetYear(ctx, lab, year, ledger.YearStateClosed, access.Principal().Subject)
	if errors.Is(err, ErrUnchanged) {
		return Year{}, apperr.Conflict("reporting year %d of lab %s is already closed", year, labID)
	}
	return closed, err
}

// Reopen opens labID's closed year again: admins only.
func (y *Years) Reopen(ctx context.Context, labID string, year int32) (Year, error) {
	lab, access, err := y.authz.RequireLab(ctx, labID, authz.Administer)
	if err != nil {
		return Year{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return Year{}, err
	}
	opened, err := y.store.SetYear(ctx, lab, year, ledger.YearStateOpen, access.Principal().Subject)
	if errors.Is(err, ErrUnchanged) {
		return Year{}, apperr.Conflict("reporting year %d of lab %s is open: only a closed year can be reopened", year, labID)
	}
	return opened, err
}

// CloseEverywhere closes year for every lab, those created later included:
// admins only.
func (y *Years) CloseEverywhere(ctx context.Context, year int32) (int64, error) {
	access, err := y.authz.For(ctx)
	if err != nil {
		return 0, err
	}
	if !access.CanEverywhere(authz.Administer) {
		return 0, apperr.PermissionDenied("closing a year for every lab is for admins")
	}
	if err := ledger.CheckYear(year); err != nil {
		return 0, err
	}
	closedAgain, err := y.store.CloseEverywhere(ctx, year, access.Principal().Subject)
	if errors.Is(err, ErrUnchanged) {
		return 0, apperr.Conflict("reporting year %d is already closed for every lab", year)
	}
	return closedAgain, err
}
