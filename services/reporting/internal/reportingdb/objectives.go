package reportingdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/objectivebus"
)

var _ objectivebus.Store = (*Store)(nil)

func toObjective(row ReportingObjective) (objectivebus.Objective, error) {
	o := objectivebus.Objective{
		ID: row.ID, IncludeSublabs: row.IncludeSublabs, BaselineYear: row.BaselineYear, TargetYear: row.TargetYear,
		ReductionPct: row.ReductionPct, AlertMarginPct: row.AlertMarginPct,
		CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedBy: row.UpdatedBy, UpdatedAt: row.UpdatedAt,
	}
	if row.LabID != nil {
		o.LabID = row.LabID.String()
	}
	for _, field := range []struct {
		raw  []byte
		into any
	}{{row.ModuleReductions, &o.ModuleReductions}, {row.ScopeReductions, &o.ScopeReductions}, {row.Milestones, &o.Milestones}} {
		if err := json.Unmarshal(field.raw, field.into); err != nil {
			return objectivebus.Objective{}, fmt.Errorf("objective %s: %w", row.ID, err)
		}
	}
	return o, nil
}

// GetObjective implements objectivebus.Store.
func (s *Store) GetObjective(ctx context.Context, labID *uuid.UUID) (objectivebus.Objective, error) {
	row, err := s.queries.GetObjective(ctx, labID)
	if errors.Is(err, pgx.ErrNoRows) {
		return objectivebus.Objective{}, objectivebus.ErrNoObjective
	}
	if err != nil {
		return objectivebus.Objective{}, err
	}
	return toObjective(row)
}

// SetObjective implements objectivebus.Store.
func (s *Store) SetObjective(ctx context.Context, o objectivebus.Objective, actor string) (objectivebus.Objective, error) {
	var labID *uuid.UUID
	if o.LabID != "" {
		id, err := uuid.Parse(o.LabID)
		if err != nil {
			return objectivebus.Objective{}, err
		}
		labID = &id
	}
	encoded := make([][]byte, 3)
	for i, m := range []any{o.ModuleReductions, o.ScopeReductions, o.Milestones} {
		raw, err := json.Marshal(m)
		if err != nil {
			return objectivebus.Objective{}, err
		}
		encoded[i] = raw
	}
	var stored objectivebus.Objective
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		var before *objectivebus.Objective
		previous, err := queries.GetObjectiveForUpdate(ctx, labID)
		switch {
		case err == nil:
			found, err := toObjective(previous)
			if err != nil {
				return err
			}
			before = &found
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		row, err := queries.UpsertObjective(ctx, UpsertObjectiveParams{
			ID: o.ID, LabID: labID, IncludeSublabs: o.IncludeSublabs, BaselineYear: o.BaselineYear, TargetYear: o.TargetYear,
			ReductionPct: o.ReductionPct, ModuleReductions: encoded[0], ScopeReductions: encoded[1], Milestones: encoded[2],
			AlertMarginPct: o.AlertMarginPct, Actor: actor,
		})
		if err != nil {
			return err
		}
		if stored, err = toObjective(row); err != nil {
			return err
		}
		return auditpg.Record(ctx, tx, Schema, objectivebus.SetEvent(before, stored))
	})
	return stored, err
}

// DeleteObjective implements objectivebus.Store.
func (s *Store) DeleteObjective(ctx context.Context, labID *uuid.UUID) (objectivebus.Objective, error) {
	var deleted objectivebus.Objective
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.queries.WithTx(tx).DeleteObjective(ctx, labID)
		if errors.Is(err, pgx.ErrNoRows) {
			return objectivebus.ErrNoObjective
		}
		if err != nil {
			return err
		}
		if deleted, err = toObjective(row); err != nil {
			return err
		}
		return auditpg.Record(ctx, tx, Schema, objectivebus.DeletedEvent(deleted))
	})
	return deleted, err
}

// ListLabObjectives implements objectivebus.Store.
func (s *Store) ListLabObjectives(ctx context.Context, after uuid.UUID, pageSize int32) ([]objectivebus.Objective, error) {
	rows, err := s.queries.ListLabObjectives(ctx, ListLabObjectivesParams{After: after, PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	out := make([]objectivebus.Objective, 0, len(rows))
	for _, row := range rows {
		o, err := toObjective(row)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
