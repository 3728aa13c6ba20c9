// Package purgebus removes what calc keeps of a lab being purged (ADR
// 020): the labs service asks, once the lab is marked as purging.
package purgebus

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Store deletes a lab's rows.
type Store interface {
	// PurgeLab deletes every row of the lab in the calc schema in one
	// transaction and returns how many went, by table.
	PurgeLab(ctx context.Context, labID uuid.UUID) (map[string]int64, error)
}

// Purges is calc's part of purging a lab.
type Purges struct {
	logger *slog.Logger
	store  Store
}

// New returns calc's purges over store.
func New(logger *slog.Logger, store Store) *Purges {
	return &Purges{logger: logger, store: store}
}

// PurgeLab deletes the lab's activities, emissions, rollups, counts,
// applied imports, recalculations and contracts; only the labs service may
// ask. Idempotent: a lab with nothing left deletes nothing.
func (p *Purges) PurgeLab(ctx context.Context, labID string) (map[string]int64, error) {
	if err := authz.RequireService(ctx, "labs"); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	deleted, err := p.store.PurgeLab(ctx, id)
	if err != nil {
		return nil, err
	}
	p.logger.InfoContext(ctx, "lab purged", "lab", id, "rows_deleted", deleted)
	return deleted, nil
}
