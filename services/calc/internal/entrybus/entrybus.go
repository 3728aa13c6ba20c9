// Package entrybus is the single-entry path: one activity computed exactly
// as an imported row would be, and written with its emissions and its lab's
// new totals in one transaction; read, listed, changed and deleted by those
// who may.
package entrybus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
)

// Activity is an activity with its emissions, as the API shows it.
type Activity struct {
	ledger.Activity
	CreatedAt time.Time
	Emissions []ledger.Emission
	// State is pending, validated or rejected (ADR 019); StateReason says
	// why it was rejected; StateBy and StateAt who changed it last, when.
	State       string
	StateReason string
	StateBy     string
	StateAt     *time.Time
}

// delta is what the activity adds to (sign 1) or takes from (sign -1) its
// lab's rollups.
func (a *Activity) delta(sign float64) ledger.RollupDelta {
	return ledger.RollupDelta{Year: a.Year, Module: a.Module, Sums: ledger.SumsOf(a.Emissions), Sign: sign, Kind: a.Kind, Source: a.Source, Activities: 1}
}

// Filter narrows a lab's activities.
type Filter struct {
	Year                 int32
	Module, Kind, Source string
	// State is pending, validated or rejected.
	State string
}

// Store keeps single entries.
type Store interface {
	// InEntryTx runs fn in one transaction.
	InEntryTx(ctx context.Context, fn func(tx Tx) error) error
	// GetActivity returns ErrNotFound for an unknown id.
	GetActivity(ctx context.Context, id uuid.UUID) (Activity, error)
	ListActivities(ctx context.Context, labID uuid.UUID, filter Filter, before *uuid.UUID, limit int32) ([]Activity, error)
}

// Tx writes single entries.
type Tx interface {
	// LockActivity reads an activity with its emissions and locks it until
	// the transaction ends; ErrNotFound when it is gone.
	LockActivity(ctx context.Context, id uuid.UUID) (Activity, error)
	// ShareYear holds the lab's year against a close until the
	// transaction ends and says whether it is open.
	ShareYear(ctx context.Context, labID uuid.UUID, year int32) (open bool, err error)
	// ShareTarget holds off recalculations of a lab/year/kind until the
	// transaction ends; entries share it, so they do not wait for each
	// other (nor for imports).
	ShareTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// HoldTarget is ShareYear then ShareTarget, in one round trip: it
	// says whether the year is open.
	HoldTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) (open bool, err error)
	// InsertActivity, UpdateActivity and DeleteActivity write a change,
	// apply deltas to the lab's rollups and record event in the audit
	// trail, in one round trip.
	InsertActivity(ctx context.Context, activity Activity, event audit.Event, deltas ...ledger.RollupDelta) error
	UpdateActivity(ctx context.Context, activity Activity, event audit.Event, deltas ...ledger.RollupDelta) error
	DeleteActivity(ctx context.Context, activity Activity, event audit.Event, deltas ...ledger.RollupDelta) error
	// Reader reads the factors in force on the transaction's connection.
	factorbus.Reader
}

// ResourceActivity names activities in the audit trail.
const ResourceActivity = "activity"

// activityEvent is the audit event of a change to a single entry.
func activityEvent(action string, before, after *Activity) audit.Event {
	event := audit.Event{ResourceType: ResourceActivity, Action: action}
	for _, a := range []*Activity{after, before} {
		if a != nil {
			event.LabID, event.ResourceID = a.LabID.String(), a.ID.String()
		}
	}
	if before != nil {
		event.Before = snapshot(*before)
	}
	if after != nil {
		event.After = snapshot(*after)
	}
	return event
}

// activitySnapshot is an activity as the audit trail keeps it: its inputs
// and what they came to.
type activitySnapshot struct {
	ID        uuid.UUID       `json:"id"`
	LabID     uuid.UUID       `json:"lab_id"`
	Year      int32           `json:"year"`
	Module    string          `json:"module"`
	Kind      string          `json:"kind"`
	Source    string          `json:"source"`
	Inputs    json.RawMessage `json:"inputs"`
	KgCO2e    float64         `json:"kg_co2e"`
	CreatedAt time.Time       `json:"created_at"`
}

func snapshot(a Activity) activitySnapshot {
	var total float64
	for _, emission := range a.Emissions {
		if emission.Variant == "" {
			total += emission.KgCO2e
		}
	}
	inputs := json.RawMessage(a.Inputs)
	if !json.Valid(inputs) {
		inputs = nil
	}
	return activitySnapshot{ID: a.ID, LabID: a.LabID, Year: a.Year, Module: a.Module, Kind: a.Kind, Source: a.Source, Inputs: inputs, KgCO2e: total, CreatedAt: a.CreatedAt}
}

// ErrNotFound is what a store returns for a missing row.
var ErrNotFound = errors.New("not found")

// Labs tells a lab's country, asked as the caller.
type Labs interface {
	Country(ctx context.Context, labID uuid.UUID) (string, error)
}

// Entries is the single-entry path.
type Entries struct {
	store     Store
	authz     *authz.Authorizer
	labs      Labs
	factors   *factorbus.Cache
	durations metric.Float64Histogram
}

// NewEntries returns the single-entry path.
func NewEntries(store Store, authorizer *authz.Authorizer, labs Labs, factorCache *factorbus.Cache) *Entries {
	// A failure leaves a no-op instrument (the SDK logs it), never nil.
	durations, _ := otel.Meter("co2-calculator/calc").Float64Histogram("calc.entry.duration", metric.WithUnit("s"),
		metric.WithDescription("Single entries written, changed or deleted, by operation and result (ok, error)"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	return &Entries{store: store, authz: authorizer, labs: labs, factors: factorCache, durations: durations}
}

// timed records an operation that began at start and ended with *err.
func (e *Entries) timed(ctx context.Context, operation string, start time.Time, err *error) {
	result := "ok"
	if *err != nil {
		result = "error"
	}
	e.durations.Record(ctx, time.Since(start).Seconds(),
		metric.WithAttributes(attribute.String("operation", operation), attribute.String("result", result)))
}

// Create computes one activity and writes it with its emissions and the
// lab's new totals, in one transaction.
func (e *Entries) Create(ctx context.Context, labID string, year int32, kindName string, values map[string]string) (_ Activity, err error) {
	defer e.timed(ctx, "create", time.Now(), &err)
	lab, err := e.requireLab(ctx, labID, authz.Import)
	if err != nil {
		return Activity{}, err
	}
	kind, err := kindOf(kindName)
	if err != nil {
		return Activity{}, err
	}
	country, err := e.country(ctx, lab)
	if err != nil {
		return Activity{}, err
	}
	var activity Activity
	err = e.store.InEntryTx(ctx, func(tx Tx) error {
		// The year's locks, the target's and the year's state at once.
		open, err := tx.HoldTarget(ctx, lab, year, kind.Name)
		if err != nil {
			return err
		}
		if !open {
			return ledger.YearClosed(lab, year)
		}
		// Computed under the target's lock with the factors in force in
		// this transaction: a recalculation of the target comes wholly
		// before or after.
		if activity, err = e.compute(ctx, tx, country, lab, year, kind.Name, values); err != nil {
			return err
		}
		activity.ID = uuid.Must(uuid.NewV7())
		activity.CreatedAt = time.Now()
		activity.State = ledger.StatePending
		for i := range activity.Emissions {
			activity.Emissions[i].ActivityID = activity.ID
		}
		return tx.InsertActivity(ctx, activity, activityEvent(audit.ActionCreate, nil, &activity), activity.delta(1))
	})
	return activity, err
}

// Get returns one activity.
func (e *Entries) Get(ctx context.Context, id string) (Activity, error) {
	activity, _, err := e.authorized(ctx, id, authz.View)
	return activity, err
}

// Page is a page of activities.
type Page struct {
	Activities    []Activity
	NextPageToken string
}

// List returns a page of a lab's activities, newest first.
func (e *Entries) List(ctx context.Context, labID string, filter Filter, pageSize int32, pageToken string) (Page, error) {
	lab, err := e.requireLab(ctx, labID, authz.View)
	if err != nil {
		return Page{}, err
	}
	switch filter.State {
	case "", ledger.StatePending, ledger.StateValidated, ledger.StateRejected:
	default:
		return Page{}, apperr.Invalid("state", "%q is not a state: use %s, %s or %s", filter.State, ledger.StatePending, ledger.StateValidated, ledger.StateRejected)
	}
	size, err := pagetoken.Size(pageSize)
	if err != nil {
		return Page{}, err
	}
	filterKey := fmt.Sprintf("%s|%+v", labID, filter)
	var cursor struct {
		Before uuid.UUID `json:"b"`
	}
	found, err := pagetoken.Decode(pageToken, filterKey, &cursor)
	if err != nil {
		return Page{}, err
	}
	var before *uuid.UUID
	if found {
		before = &cursor.Before
	}
	activities, err := e.store.ListActivities(ctx, lab, filter, before, size+1)
	if err != nil {
		return Page{}, err
	}
	page := Page{Activities: activities}
	if int32(len(activities)) > size {
		page.Activities = activities[:size]
		cursor.Before = page.Activities[size-1].ID
		page.NextPageToken, err = pagetoken.Encode(cursor, filterKey)
	}
	return page, err
}

// Replace sets a single entry's year and values and computes it again.
func (e *Entries) Replace(ctx context.Context, id string, year int32, values map[string]string) (_ Activity, err error) {
	defer e.timed(ctx, "replace", time.Now(), &err)
	current, _, err := e.authorized(ctx, id, authz.Import)
	if err != nil {
		return Activity{}, err
	}
	if current.Source != ledger.SourceEntry {
		return Activity{}, apperr.FailedPrecondition("activity %s came from an import: change it by importing again", id)
	}
	country, err := e.country(ctx, current.LabID)
	if err != nil {
		return Activity{}, err
	}
	var activity Activity
	err = e.store.InEntryTx(ctx, func(tx Tx) error {
		// The years and targets it leaves and joins, locked in one order
		// (years first, as every writer does).
		for _, targetYear := range []int32{min(current.Year, year), max(current.Year, year)} {
			if err := holdOpen(ctx, tx, current.LabID, targetYear); err != nil {
				return err
			}
		}
		for _, targetYear := range []int32{min(current.Year, year), max(current.Year, year)} {
			if err := tx.ShareTarget(ctx, current.LabID, targetYear, current.Kind); err != nil {
				return err
			}
		}
		if activity, err = e.compute(ctx, tx, country, current.LabID, year, current.Kind, values); err != nil {
			return err
		}
		activity.ID, activity.CreatedAt = current.ID, current.CreatedAt
		activity.State = ledger.StatePending // a changed activity is checked again
		for i := range activity.Emissions {
			activity.Emissions[i].ActivityID = activity.ID
		}
		// What is subtracted is what is stored now, read under lock: a
		// concurrent change or delete is either before or after this one.
		locked, err := tx.LockActivity(ctx, current.ID)
		if errors.Is(err, ErrNotFound) {
			return apperr.NotFound("no activity has id %s", id)
		}
		if err != nil {
			return err
		}
		return tx.UpdateActivity(ctx, activity, activityEvent(audit.ActionReplace, &locked, &activity), locked.delta(-1), activity.delta(1))
	})
	return activity, err
}

// Delete removes a single entry and its emissions from the lab's totals
// (an imported activity goes by importing again).
func (e *Entries) Delete(ctx context.Context, id string) (err error) {
	defer e.timed(ctx, "delete", time.Now(), &err)
	current, _, err := e.authorized(ctx, id, authz.Import)
	if err != nil {
		return err
	}
	if current.Source != ledger.SourceEntry {
		return apperr.FailedPrecondition("activity %s came from an import: replace the import to remove it", id)
	}
	return e.store.InEntryTx(ctx, func(tx Tx) error {
		// A close and a recalculation of the target come wholly before or
		// after.
		open, err := tx.HoldTarget(ctx, current.LabID, current.Year, current.Kind)
		if err != nil {
			return err
		}
		if !open {
			return ledger.YearClosed(current.LabID, current.Year)
		}
		locked, err := tx.LockActivity(ctx, current.ID)
		if errors.Is(err, ErrNotFound) {
			return apperr.NotFound("no activity has id %s", id)
		}
		if err != nil {
			return err
		}
		return tx.DeleteActivity(ctx, locked, activityEvent(audit.ActionDelete, &locked, nil), locked.delta(-1))
	})
}

// holdOpen holds the lab's year against a close until the transaction
// ends, and refuses a closed one.
func holdOpen(ctx context.Context, tx Tx, labID uuid.UUID, year int32) error {
	open, err := tx.ShareYear(ctx, labID, year)
	if err != nil {
		return err
	}
	if !open {
		return ledger.YearClosed(labID, year)
	}
	return nil
}

func (e *Entries) requireLab(ctx context.Context, labID string, action authz.Action) (uuid.UUID, error) {
	id, _, err := e.authz.RequireLab(ctx, labID, action)
	return id, err
}

func (e *Entries) authorized(ctx context.Context, id string, action authz.Action) (Activity, *authz.Access, error) {
	access, err := e.authz.For(ctx)
	if err != nil {
		return Activity{}, nil, err
	}
	notFound := apperr.NotFound("no activity has id %s", id)
	activityID, err := uuid.Parse(id)
	if err != nil {
		return Activity{}, nil, apperr.Invalid("id", "%q is not an activity id (a UUID)", id)
	}
	activity, err := e.store.GetActivity(ctx, activityID)
	if errors.Is(err, ErrNotFound) {
		return Activity{}, nil, notFound
	}
	if err != nil {
		return Activity{}, nil, err
	}
	return activity, access, access.Require(activity.LabID.String(), action, notFound)
}

// country asks labs for the lab's country before a transaction opens: when
// labs cannot answer, the request fails without holding a connection and a
// lock.
func (e *Entries) country(ctx context.Context, labID uuid.UUID) (string, error) {
	country, err := e.labs.Country(ctx, labID)
	if err != nil {
		return "", fmt.Errorf("lab %s: %w", labID, err)
	}
	return country, nil
}

// compute turns values into an activity exactly as an imported row would
// be, with the factors read through reader.
func (e *Entries) compute(ctx context.Context, reader factorbus.Reader, country string, labID uuid.UUID, year int32, kindName string, values map[string]string) (Activity, error) {
	kind, err := kindOf(kindName)
	if err != nil {
		return Activity{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return Activity{}, err
	}
	known := map[string]bool{}
	for _, column := range kind.Columns {
		known[column.Name] = true
	}
	row := kinds.Row{}
	var unknown []string
	for name, value := range values {
		lower := strings.ToLower(strings.TrimSpace(name))
		if !known[lower] {
			unknown = append(unknown, name)
		}
		row[lower] = strings.TrimSpace(value)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Activity{}, apperr.Invalid("values", "%s: not a column of kind %s (its columns: %s)", strings.Join(unknown, ", "), kind.Name, columnNames(kind))
	}
	env, _, err := e.factors.Env(ctx, reader, country, labID, year)
	if err != nil {
		return Activity{}, err
	}
	computed, err := kind.Compute(row, env)
	var fieldErr *kinds.FieldError
	var missingFactor *kinds.MissingFactorError
	switch {
	case errors.As(err, &fieldErr):
		return Activity{}, apperr.Invalid("values."+fieldErr.Column, "%s", fieldErr.Message)
	case errors.As(err, &missingFactor):
		return Activity{}, apperr.FailedPrecondition("%v: add a factor for it", missingFactor)
	case err != nil:
		return Activity{}, err
	}
	activity := Activity{Activity: ledger.Activity{
		LabID: labID, Year: year, Module: kind.Module, Kind: kind.Name, Source: ledger.SourceEntry,
		Inputs: ledger.AppendInputs(nil, computed.Inputs),
	}}
	for _, emission := range computed.Emissions {
		activity.Emissions = append(activity.Emissions, ledger.EmissionOf(uuid.UUID{}, labID, year, kind.Module, emission))
	}
	return activity, nil
}

func kindOf(name string) (*kinds.Kind, error) {
	kind, ok := catalog.Lookup(name)
	if !ok {
		return nil, apperr.Invalid("kind", "%q is not a kind: the kinds are %s", name, catalog.Names())
	}
	return kind, nil
}

func columnNames(kind *kinds.Kind) string {
	names := make([]string, len(kind.Columns))
	for i, column := range kind.Columns {
		names[i] = column.Name
	}
	return strings.Join(names, ", ")
}
