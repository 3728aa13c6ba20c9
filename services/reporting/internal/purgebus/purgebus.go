// Package purgebus removes what reporting keeps of a lab being purged (ADR
// 020): the labs service asks, once the lab is marked as purging.
package purgebus

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Store deletes what reporting keeps of a lab.
type Store interface {
	// PurgeLab deletes, in one transaction, the exports of the lab and
	// those that included it, with their files, the lab's objective and
	// its audit trail, and returns how many exports and objectives went.
	PurgeLab(ctx context.Context, labID uuid.UUID) (exports, objectives int64, err error)
}

// Purges is reporting's part of purging a lab.
type Purges struct {
	logger *slog.Logger
	store  Store
}

// New returns reporting's purges over store.
func New(logger *slog.Logger, store Store) *Purges { return &Purges{logger: logger, store: store} }

// PurgeLab deletes the lab's exports and every export that included the
// lab (a parent's export with its sub-labs: it holds the lab's data), and
// the lab's objective; only
// the labs service may ask. Idempotent.
func (p *Purges) PurgeLab(ctx context.Context, labID string) (map[string]int64, error) {
	if err := authz.RequireService(ctx, "labs"); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	exports, objectives, err := p.store.PurgeLab(ctx, id)
	if err != nil {
		return nil, err
	}
	p.logger.InfoContext(ctx, "lab purged", "lab", id, "exports", exports, "objectives", objectives)
	return map[string]int64{"exports": exports, "objectives": objectives}, nil
}
