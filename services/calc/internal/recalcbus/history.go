package recalcbus

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// HistoryStore reads recalculations and what they replaced.
type HistoryStore interface {
	ListRecalculations(ctx context.Context, labID uuid.UUID, year int32) ([]Recalculation, error)
	// ActivityLab returns the lab of an activity; ErrNotFound when unknown.
	ActivityLab(ctx context.Context, activityID uuid.UUID) (uuid.UUID, error)
	ListSupersededEmissions(ctx context.Context, activityID uuid.UUID) ([]SupersededEmission, error)
}

// History shows a lab's recalculations, and the emissions they replaced, to
// those who see the lab.
type History struct {
	store HistoryStore
	authz *authz.Authorizer
}

// NewHistory returns the history over store.
func NewHistory(store HistoryStore, authorizer *authz.Authorizer) *History {
	return &History{store: store, authz: authorizer}
}

// Recalculations lists a lab's recalculations, newest first.
func (h *History) Recalculations(ctx context.Context, labID string, year int32) ([]Recalculation, error) {
	id, _, err := h.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return h.store.ListRecalculations(ctx, id, year)
}

// Superseded lists the emissions recalculations replaced for an activity.
func (h *History) Superseded(ctx context.Context, activityID string) ([]SupersededEmission, error) {
	access, err := h.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	notFound := apperr.NotFound("no activity has id %s", activityID)
	id, err := uuid.Parse(activityID)
	if err != nil {
		return nil, apperr.Invalid("activity_id", "%q is not an activity id (a UUID)", activityID)
	}
	labID, err := h.store.ActivityLab(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if err := access.Require(labID.String(), authz.View, notFound); err != nil {
		return nil, err
	}
	return h.store.ListSupersededEmissions(ctx, id)
}
