// Package entrydb keeps single entries in the calc schema: each change
// written with its emissions and rollup deltas in one round trip.
package entrydb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Store implements entrybus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

// InEntryTx runs fn in one transaction.
func (s *Store) InEntryTx(ctx context.Context, fn func(tx entrybus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&entryTx{Tx: ledgerdb.NewTx(tx, s.queries.WithTx(tx))})
	})
}

// entryTx is an entry's transaction. What its hold read (the year's
// activation, the lab's contract) answers the computation's reads of the
// same lab and year, so they cost no round trip of their own.
type entryTx struct {
	ledgerdb.Tx
	held     *ledgerdb.Held
	heldLab  uuid.UUID
	heldYear int32
}

func (t *entryTx) ActiveVersion(ctx context.Context, year int32) (factors.VersionRef, bool, error) {
	if t.held != nil && year == t.heldYear {
		if t.held.Active == nil {
			return factors.VersionRef{}, false, nil
		}
		return *t.held.Active, true, nil
	}
	return t.Tx.ActiveVersion(ctx, year)
}

func (t *entryTx) Contract(ctx context.Context, labID uuid.UUID, year int32) (*kinds.Contract, error) {
	if t.held != nil && labID == t.heldLab && year == t.heldYear {
		return t.held.Contract, nil
	}
	return t.Tx.Contract(ctx, labID, year)
}

func (t *entryTx) ShareTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.Queries.ShareEntryTarget(ctx, calcdb.ShareEntryTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

func (t *entryTx) HoldTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) (bool, error) {
	held, err := ledgerdb.HoldYear(ctx, t.Conn, labID, year, func(queries *calcdb.Queries) {
		_ = queries.ShareEntryTarget(ctx, calcdb.ShareEntryTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
	})
	if err != nil {
		return false, err
	}
	t.held, t.heldLab, t.heldYear = &held, labID, year
	return held.Open, nil
}

func (t *entryTx) LockActivity(ctx context.Context, id uuid.UUID) (entrybus.Activity, error) {
	row, err := t.Queries.GetActivityForUpdate(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return entrybus.Activity{}, entrybus.ErrNotFound
	}
	if err != nil {
		return entrybus.Activity{}, err
	}
	activities, err := withEmissions(ctx, t.Queries, []calcdb.CalcActivity{row})
	if err != nil {
		return entrybus.Activity{}, err
	}
	return activities[0], nil
}

// Each change goes with its rollup deltas and its audit row in one round
// trip.

func (t *entryTx) InsertActivity(ctx context.Context, activity entrybus.Activity, event audit.Event, deltas ...ledger.RollupDelta) error {
	queries, batch := ledgerdb.NewBatch()
	if err := ledgerdb.QueueRecord(ctx, batch, event); err != nil {
		return err
	}
	_ = queries.InsertActivity(ctx, calcdb.InsertActivityParams{
		ID: activity.ID, LabID: activity.LabID, Year: activity.Year, Module: activity.Module, Kind: activity.Kind, Inputs: activity.Inputs,
	})
	queueEmissions(ctx, queries, activity.Emissions)
	ledgerdb.QueueRollups(ctx, queries, activity.LabID, deltas)
	return ledgerdb.Send(ctx, t.Conn, batch)
}

func (t *entryTx) UpdateActivity(ctx context.Context, activity entrybus.Activity, event audit.Event, deltas ...ledger.RollupDelta) error {
	queries, batch := ledgerdb.NewBatch()
	if err := ledgerdb.QueueRecord(ctx, batch, event); err != nil {
		return err
	}
	_ = queries.UpdateActivity(ctx, calcdb.UpdateActivityParams{ID: activity.ID, Year: activity.Year, Inputs: activity.Inputs})
	_ = queries.DeleteEmissionsOf(ctx, activity.ID)
	queueEmissions(ctx, queries, activity.Emissions)
	ledgerdb.QueueRollups(ctx, queries, activity.LabID, deltas)
	return ledgerdb.Send(ctx, t.Conn, batch)
}

func (t *entryTx) DeleteActivity(ctx context.Context, activity entrybus.Activity, event audit.Event, deltas ...ledger.RollupDelta) error {
	queries, batch := ledgerdb.NewBatch()
	if err := ledgerdb.QueueRecord(ctx, batch, event); err != nil {
		return err
	}
	_ = queries.DeleteEmissionsOf(ctx, activity.ID)
	_ = queries.DeleteActivity(ctx, activity.ID)
	ledgerdb.QueueRollups(ctx, queries, activity.LabID, deltas)
	return ledgerdb.Send(ctx, t.Conn, batch)
}

func queueEmissions(ctx context.Context, queries *calcdb.Queries, emissions []ledger.Emission) {
	for _, e := range emissions {
		var factorID *uuid.UUID
		if e.FactorID != (uuid.UUID{}) {
			factorID = &e.FactorID
		}
		_ = queries.InsertEmission(ctx, calcdb.InsertEmissionParams{
			ActivityID: e.ActivityID, Variant: e.Variant, LabID: e.LabID, Year: e.Year, Module: e.Module,
			EmissionType: e.EmissionType, Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCo2e: e.KgCO2e, FactorID: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
		})
	}
}

func (s *Store) GetActivity(ctx context.Context, id uuid.UUID) (entrybus.Activity, error) {
	row, err := s.queries.GetActivity(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return entrybus.Activity{}, entrybus.ErrNotFound
	}
	if err != nil {
		return entrybus.Activity{}, err
	}
	activities, err := withEmissions(ctx, s.queries, []calcdb.CalcActivity{row})
	if err != nil {
		return entrybus.Activity{}, err
	}
	return activities[0], nil
}

func (s *Store) ListActivities(ctx context.Context, labID uuid.UUID, filter entrybus.Filter, before *uuid.UUID, limit int32) ([]entrybus.Activity, error) {
	rows, err := s.queries.ListActivities(ctx, calcdb.ListActivitiesParams{
		LabID: labID, Year: filter.Year, Module: filter.Module, Kind: filter.Kind, Source: filter.Source, State: filter.State, BeforeID: before, PageLimit: limit,
	})
	if err != nil {
		return nil, err
	}
	return withEmissions(ctx, s.queries, rows)
}

// withEmissions attaches their emissions to activities, in one query.
func withEmissions(ctx context.Context, queries *calcdb.Queries, rows []calcdb.CalcActivity) ([]entrybus.Activity, error) {
	ids := make([]uuid.UUID, len(rows))
	activities := make([]entrybus.Activity, len(rows))
	index := make(map[uuid.UUID]int, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
		index[row.ID] = i
		activities[i] = entrybus.Activity{CreatedAt: row.CreatedAt, State: row.State, StateReason: row.StateReason,
			StateBy: row.StateBy, StateAt: row.StateAt, Activity: ledger.Activity{
				ID: row.ID, LabID: row.LabID, Year: row.Year, Module: row.Module, Kind: row.Kind, Source: row.Source,
				ImportID: row.ImportID, RowNo: row.RowNo, Inputs: row.Inputs,
			}}
	}
	emissions, err := queries.ListEmissionsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, e := range emissions {
		var factorID uuid.UUID
		if e.FactorID != nil {
			factorID = *e.FactorID
		}
		i := index[e.ActivityID]
		activities[i].Emissions = append(activities[i].Emissions, ledger.Emission{
			ActivityID: e.ActivityID, Variant: e.Variant, LabID: e.LabID, Year: e.Year, Module: e.Module,
			EmissionType: e.EmissionType, Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCO2e: e.KgCo2e, FactorID: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
		})
	}
	return activities, nil
}
