// Package validationdb keeps activities' validation states in the calc
// schema.
package validationdb

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/validationbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Store implements validationbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

func stateOf(row calcdb.CalcActivity) validationbus.ActivityState {
	return validationbus.ActivityState{ID: row.ID, LabID: row.LabID, Year: row.Year, Source: row.Source, State: row.State, Reason: row.StateReason}
}

func (s *Store) GetActivityState(ctx context.Context, id uuid.UUID) (validationbus.ActivityState, error) {
	row, err := s.queries.GetActivity(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return validationbus.ActivityState{}, validationbus.ErrNotFound
	}
	return stateOf(row), err
}

func (s *Store) ImportTarget(ctx context.Context, importID uuid.UUID) (uuid.UUID, int32, error) {
	row, err := s.queries.GetImportTarget(ctx, importID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (row.LabID == nil || row.Year == nil)) {
		return uuid.UUID{}, 0, validationbus.ErrNotFound
	}
	if err != nil {
		return uuid.UUID{}, 0, err
	}
	return *row.LabID, *row.Year, nil
}

func (s *Store) InValidationTx(ctx context.Context, fn func(tx validationbus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&validationTx{tx: tx, queries: s.queries.WithTx(tx)})
	})
}

type validationTx struct {
	tx      pgx.Tx
	queries *calcdb.Queries
}

func (t *validationTx) Record(ctx context.Context, event audit.Event) error {
	return ledgerdb.Record(ctx, t.tx, event)
}

func (t *validationTx) ShareYear(ctx context.Context, labID uuid.UUID, year int32) (bool, error) {
	return ledgerdb.ShareYear(ctx, t.queries, labID, year)
}

func (t *validationTx) LockActivityState(ctx context.Context, id uuid.UUID) (validationbus.ActivityState, error) {
	row, err := t.queries.GetActivityForUpdate(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return validationbus.ActivityState{}, validationbus.ErrNotFound
	}
	return stateOf(row), err
}

func (t *validationTx) SetState(ctx context.Context, id uuid.UUID, change validationbus.Change) error {
	return t.queries.SetActivityState(ctx, calcdb.SetActivityStateParams{ID: id, State: change.State, StateReason: change.Reason, StateBy: change.By})
}

func (t *validationTx) SetStates(ctx context.Context, labID uuid.UUID, selection validationbus.Selection, from []string, change validationbus.Change) (int64, error) {
	return t.queries.SetActivitiesState(ctx, calcdb.SetActivitiesStateParams{
		State: change.State, Reason: change.Reason, ChangedBy: change.By, LabID: labID, Year: selection.Year, FromStates: from,
		Module: selection.Module, Kind: selection.Kind, Source: selection.Source, ImportID: selection.ImportID,
	})
}
