package ingestbus

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// PurgeStore removes a lab's imports.
type PurgeStore interface {
	// PurgeLab deletes every job of the lab with its file and row errors,
	// whatever its state, in one statement, and returns how many jobs went.
	PurgeLab(ctx context.Context, labID uuid.UUID) (int64, error)
}

// PurgeLab removes everything ingest keeps of a lab being purged (ADR
// 020); only the labs service may ask. A job still arriving, queued or
// running goes too: its upload then fails as cancelled, and its worker
// finds it gone at its next heartbeat (the last one before it commits) and
// writes nothing. Idempotent.
func (b *Business) PurgeLab(ctx context.Context, labID string) (map[string]int64, error) {
	if err := authz.RequireService(ctx, "labs"); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	jobs, err := b.store.PurgeLab(ctx, id)
	if err != nil {
		return nil, err
	}
	b.logger.InfoContext(ctx, "lab purged", "lab", id, "jobs", jobs)
	return map[string]int64{"data_ingestion_jobs": jobs}, nil
}
