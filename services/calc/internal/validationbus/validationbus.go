// Package validationbus is the validation of activity data (ADR 019): who
// may validate or reject a lab's activities, which state changes are
// allowed, and one call for a set of activities or a whole import.
package validationbus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// ErrNotFound is what a store returns for a missing row.
var ErrNotFound = errors.New("not found")

// maxReason bounds a rejection's reason.
const maxReason = 2000

// ActivityState is where an activity stands.
type ActivityState struct {
	ID     uuid.UUID `json:"id"`
	LabID  uuid.UUID `json:"lab_id"`
	Year   int32     `json:"year"`
	Source string    `json:"source"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// Selection is a set of a lab's activities of one year: those of an import,
// or those matching the filters (empty means any).
type Selection struct {
	ImportID *uuid.UUID `json:"import_id,omitempty"`
	Year     int32      `json:"year"`
	Module   string     `json:"module,omitempty"`
	Kind     string     `json:"kind,omitempty"`
	Source   string     `json:"source,omitempty"`
}

// Change is a state given by someone.
type Change struct {
	State, Reason, By string
}

// Store keeps activities' states.
type Store interface {
	// GetActivityState returns ErrNotFound for an unknown id.
	GetActivityState(ctx context.Context, id uuid.UUID) (ActivityState, error)
	// ImportTarget returns the lab and year an applied import wrote into;
	// ErrNotFound when none was applied with that id.
	ImportTarget(ctx context.Context, importID uuid.UUID) (uuid.UUID, int32, error)
	// InValidationTx runs fn in one transaction.
	InValidationTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx changes states.
type Tx interface {
	// ShareYear holds the lab's year against a close until the
	// transaction ends and says whether it is open.
	ShareYear(ctx context.Context, labID uuid.UUID, year int32) (open bool, err error)
	// LockActivityState reads an activity's state and locks its row.
	LockActivityState(ctx context.Context, id uuid.UUID) (ActivityState, error)
	SetState(ctx context.Context, id uuid.UUID, change Change) error
	// SetStates changes the selection's activities that are in one of
	// from, in one statement, and says how many changed.
	SetStates(ctx context.Context, labID uuid.UUID, selection Selection, from []string, change Change) (int64, error)
	// Record appends an event to the audit trail in the transaction.
	Record(ctx context.Context, event audit.Event) error
}

// What the audit trail names a validation of a set of activities: a whole
// import is the import; any other set is a selection of a lab's year.
const (
	ResourceActivity  = "activity"
	ResourceImport    = "import"
	ResourceSelection = "activity_selection"
)

// ActivityEvent is the audit event of one activity validated or rejected:
// its state before and after.
func ActivityEvent(action string, before, after ActivityState) audit.Event {
	return audit.Event{LabID: after.LabID.String(), ResourceType: ResourceActivity, ResourceID: after.ID.String(), Action: action,
		Before: before, After: after}
}

// setChange is a set's validation as the audit trail keeps it.
type setChange struct {
	Selection         Selection `json:"selection"`
	State             string    `json:"state"`
	Reason            string    `json:"reason,omitempty"`
	ActivitiesChanged int64     `json:"activities_changed"`
}

// SelectionEvent is the audit event of one call validating or rejecting a
// set of a lab's activities: one event whatever the number of activities
// it changed (before: the states they were changed from).
func SelectionEvent(action string, labID uuid.UUID, selection Selection, from []string, change Change, changed int64) audit.Event {
	event := audit.Event{LabID: labID.String(), ResourceType: ResourceSelection, ResourceID: describe(selection), Action: action,
		Before: map[string]any{"states": from},
		After:  setChange{Selection: selection, State: change.State, Reason: change.Reason, ActivitiesChanged: changed}}
	if selection.ImportID != nil {
		event.ResourceType, event.ResourceID = ResourceImport, selection.ImportID.String()
	}
	return event
}

// describe names a selection of a lab's activities, as "year=2025 kind=plane".
func describe(selection Selection) string {
	parts := []string{"year=" + strconv.Itoa(int(selection.Year))}
	for _, filter := range []struct{ name, value string }{{"module", selection.Module}, {"kind", selection.Kind}, {"source", selection.Source}} {
		if filter.value != "" {
			parts = append(parts, filter.name+"="+filter.value)
		}
	}
	return strings.Join(parts, " ")
}

// actionOf names a change to state in the audit trail.
func actionOf(state string) string {
	if state == ledger.StateRejected {
		return audit.ActionReject
	}
	return audit.ActionValidate
}

// Validations validate and reject activities.
type Validations struct {
	store Store
	authz *authz.Authorizer
}

// New returns the validations.
func New(store Store, authorizer *authz.Authorizer) *Validations {
	return &Validations{store: store, authz: authorizer}
}

// Validate validates one activity of labID.
func (v *Validations) Validate(ctx context.Context, labID, id string) error {
	return v.change(ctx, labID, id, ledger.StateValidated, "")
}

// Reject rejects one activity of labID, saying why.
func (v *Validations) Reject(ctx context.Context, labID, id, reason string) error {
	reason, err := checkReason(reason)
	if err != nil {
		return err
	}
	return v.change(ctx, labID, id, ledger.StateRejected, reason)
}

func (v *Validations) change(ctx context.Context, labID, id, state, reason string) error {
	lab, access, err := v.authz.RequireLab(ctx, labID, authz.Validate)
	if err != nil {
		return err
	}
	activityID, err := uuid.Parse(id)
	if err != nil {
		return apperr.Invalid("id", "%q is not an activity id (a UUID)", id)
	}
	notFound := apperr.NotFound("lab %s has no activity %s", labID, id)
	current, err := v.store.GetActivityState(ctx, activityID)
	if errors.Is(err, ErrNotFound) || (err == nil && current.LabID != lab) {
		return notFound
	}
	if err != nil {
		return err
	}
	change := Change{State: state, Reason: reason, By: access.Principal().Subject}
	return v.store.InValidationTx(ctx, func(tx Tx) error {
		open, err := tx.ShareYear(ctx, lab, current.Year)
		if err != nil {
			return err
		}
		if !open {
			return ledger.YearClosed(lab, current.Year)
		}
		locked, err := tx.LockActivityState(ctx, activityID)
		if errors.Is(err, ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if locked.Year != current.Year {
			return apperr.Conflict("activity %s moved to year %d meanwhile: try again", id, locked.Year)
		}
		if err := allowed(locked, state); err != nil {
			return err
		}
		if err := tx.SetState(ctx, activityID, change); err != nil {
			return err
		}
		after := locked
		after.State, after.Reason = change.State, change.Reason
		return tx.Record(ctx, ActivityEvent(actionOf(state), locked, after))
	})
}

// allowed refuses the state changes that cannot happen from where the
// activity stands.
func allowed(current ActivityState, to string) error {
	switch {
	case current.State == to:
		return apperr.Conflict("activity %s is already %s", current.ID, to)
	case current.State == ledger.StateRejected && to == ledger.StateValidated:
		how := "replace it (PUT /api/v1/activities/" + current.ID.String() + ")"
		if current.Source == ledger.SourceCSV {
			how = "import its file again"
		}
		return apperr.Conflict("activity %s was rejected (%s): it can be validated once changed: %s", current.ID, current.Reason, how)
	}
	return nil
}

// ValidateSet validates the selection's pending activities in one
// statement and says how many.
func (v *Validations) ValidateSet(ctx context.Context, labID string, selection Selection) (int64, error) {
	return v.changeSet(ctx, labID, selection, []string{ledger.StatePending}, ledger.StateValidated, "")
}

// RejectSet rejects the selection's pending and validated activities in
// one statement and says how many.
func (v *Validations) RejectSet(ctx context.Context, labID string, selection Selection, reason string) (int64, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return 0, err
	}
	return v.changeSet(ctx, labID, selection, []string{ledger.StatePending, ledger.StateValidated}, ledger.StateRejected, reason)
}

func (v *Validations) changeSet(ctx context.Context, labID string, selection Selection, from []string, state, reason string) (int64, error) {
	lab, access, err := v.authz.RequireLab(ctx, labID, authz.Validate)
	if err != nil {
		return 0, err
	}
	if selection.Source != "" && selection.Source != ledger.SourceCSV && selection.Source != ledger.SourceEntry {
		return 0, apperr.Invalid("selection.source", "%q is not a source: use %s or %s", selection.Source, ledger.SourceEntry, ledger.SourceCSV)
	}
	switch {
	case selection.ImportID != nil:
		importLab, importYear, err := v.store.ImportTarget(ctx, *selection.ImportID)
		if errors.Is(err, ErrNotFound) || (err == nil && importLab != lab) {
			return 0, apperr.NotFound("lab %s has no applied import %s", labID, selection.ImportID)
		}
		if err != nil {
			return 0, err
		}
		if selection.Year != 0 && selection.Year != importYear {
			return 0, apperr.Invalid("selection.year", "import %s is of year %d, not %d: leave the year out", selection.ImportID, importYear, selection.Year)
		}
		selection.Year = importYear
	case selection.Year == 0:
		return 0, apperr.Invalid("selection", "give the year (selection.year), or an import (selection.import_id)")
	default:
		if err := ledger.CheckYear(selection.Year); err != nil {
			return 0, err
		}
	}
	change := Change{State: state, Reason: reason, By: access.Principal().Subject}
	var changed int64
	err = v.store.InValidationTx(ctx, func(tx Tx) error {
		open, err := tx.ShareYear(ctx, lab, selection.Year)
		if err != nil {
			return err
		}
		if !open {
			return ledger.YearClosed(lab, selection.Year)
		}
		if changed, err = tx.SetStates(ctx, lab, selection, from, change); err != nil {
			return err
		}
		return tx.Record(ctx, SelectionEvent(actionOf(state), lab, selection, from, change, changed))
	})
	return changed, err
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", apperr.Invalid("reason", "required: say what is wrong, for whoever entered the data")
	case utf8.RuneCountInString(reason) > maxReason:
		return "", apperr.Invalid("reason", "at most %d characters", maxReason)
	}
	return reason, nil
}
