// Package auditpg stores a service's audit trail in <schema>.audit_events
// (each service's migration creates the table, append-only): Record inserts
// an event through the caller's transaction, Store reads the trail.
package auditpg

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Execer is what Record needs: a transaction (pgx.Tx) or, outside one, a
// pool. A business layer records inside the transaction of its change, so
// the change and its record commit or roll back together.
type Execer interface {
	Exec(ctx context.Context, sql string, arguments ...any) (pgconn.CommandTag, error)
}

// Querier is what Store reads with.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Record inserts event into schema's trail, the actor being the caller of
// the request ctx belongs to.
func Record(ctx context.Context, db Execer, schema string, event audit.Event) error {
	before, err := audit.Encode(event.Before)
	if err != nil {
		return err
	}
	after, err := audit.Encode(event.After)
	if err != nil {
		return err
	}
	var labID *uuid.UUID
	if event.LabID != "" {
		parsed, err := uuid.Parse(event.LabID)
		if err != nil {
			return fmt.Errorf("audit event lab id %q: %w", event.LabID, err)
		}
		labID = &parsed
	}
	if event.ResourceType == "" || event.ResourceID == "" || event.Action == "" {
		return fmt.Errorf("audit event without resource type, id or action: %+v", event)
	}
	actor := audit.ActorOf(ctx, schema)
	_, err = db.Exec(ctx, `INSERT INTO `+table(schema)+`
		(actor_subject, actor_email, lab_id, resource_type, resource_id, action, before, after, trace_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		actor.Subject, actor.Email, labID, event.ResourceType, event.ResourceID, event.Action, before, after, audit.TraceID(ctx))
	if err != nil {
		return fmt.Errorf("record %s of %s %s: %w", event.Action, event.ResourceType, event.ResourceID, err)
	}
	return nil
}

// Store reads the trail of one schema.
type Store struct {
	db     Querier
	schema string
}

var _ audit.Store = Store{}

// NewStore returns the reader of schema's trail.
func NewStore(db Querier, schema string) Store { return Store{db: db, schema: schema} }

// ListAudit implements audit.Store: newest first, at most filter.Limit.
func (s Store) ListAudit(ctx context.Context, filter audit.Filter) ([]audit.Entry, error) {
	labIDs := make([]uuid.UUID, 0, len(filter.LabIDs))
	for _, id := range filter.LabIDs {
		parsed, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("lab id %q: %w", id, err)
		}
		labIDs = append(labIDs, parsed)
	}
	var since, until, beforeTime *time.Time
	if !filter.Since.IsZero() {
		since = &filter.Since
	}
	if !filter.Until.IsZero() {
		until = &filter.Until
	}
	var beforeID int64
	if filter.Before != nil {
		beforeTime, beforeID = &filter.Before.OccurredAt, filter.Before.ID
	}
	rows, err := s.db.Query(ctx, `SELECT id, occurred_at, actor_subject, actor_email, coalesce(lab_id::text, ''),
			resource_type, resource_id, action, before, after, trace_id
		FROM `+table(s.schema)+`
		WHERE ($1::bool OR lab_id = ANY($2::uuid[]))
		  AND ($3::timestamptz IS NULL OR occurred_at >= $3)
		  AND ($4::timestamptz IS NULL OR occurred_at < $4)
		  AND ($5::text = '' OR actor_subject = $5 OR actor_email = lower($5))
		  AND ($6::text = '' OR resource_type = $6)
		  AND ($7::text = '' OR action = $7)
		  AND ($8::timestamptz IS NULL OR (occurred_at, id) < ($8, $9::bigint))
		ORDER BY occurred_at DESC, id DESC
		LIMIT $10`,
		filter.AllLabs, labIDs, since, until, filter.Actor, filter.ResourceType, filter.Action, beforeTime, beforeID, filter.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Entry, error) {
		var e audit.Entry
		err := row.Scan(&e.ID, &e.OccurredAt, &e.ActorSubject, &e.ActorEmail, &e.LabID,
			&e.ResourceType, &e.ResourceID, &e.Action, &e.Before, &e.After, &e.TraceID)
		return e, err
	})
}

func table(schema string) string {
	return pgx.Identifier{schema, "audit_events"}.Sanitize()
}

// PurgeLab removes the trail of a lab being purged from schema's trail, in
// the transaction tx of the purge of its data: the append-only trigger
// lets a transaction delete the rows of the one lab it names in the
// setting co2.purging_lab, and nothing else (ADR 018, ADR 020). The
// purge itself stays recorded in labs' trail.
func PurgeLab(ctx context.Context, tx Execer, schema string, labID uuid.UUID) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('co2.purging_lab', $1, true)`, labID.String()); err != nil {
		return 0, fmt.Errorf("purge the trail of lab %s: %w", labID, err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM `+table(schema)+` WHERE lab_id = $1`, labID)
	if err != nil {
		return 0, fmt.Errorf("purge the trail of lab %s: %w", labID, err)
	}
	return tag.RowsAffected(), nil
}
