package calcdb

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// InEntryTx runs fn in one transaction.
func (s *Store) InEntryTx(ctx context.Context, fn func(tx entrybus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&entryTx{importTx{tx: tx, queries: s.queries.WithTx(tx)}})
	})
}

type entryTx struct{ importTx }

func (t *entryTx) LockActivity(ctx context.Context, id uuid.UUID) (entrybus.Activity, error) {
	row, err := t.queries.GetActivityForUpdate(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return entrybus.Activity{}, entrybus.ErrNotFound
	}
	if err != nil {
		return entrybus.Activity{}, err
	}
	activities, err := withEmissions(ctx, t.queries, []CalcActivity{row})
	if err != nil {
		return entrybus.Activity{}, err
	}
	return activities[0], nil
}

// Each change goes with its rollup deltas in one round trip.

func (t *entryTx) InsertActivity(ctx context.Context, activity entrybus.Activity, deltas ...ledger.RollupDelta) error {
	queries, batch := newBatch()
	_ = queries.InsertActivity(ctx, InsertActivityParams{
		ID: activity.ID, LabID: activity.LabID, Year: activity.Year, Module: activity.Module, Kind: activity.Kind, Inputs: activity.Inputs,
	})
	queueEmissions(ctx, queries, activity.Emissions)
	queueRollups(ctx, queries, activity.LabID, deltas)
	return send(ctx, t.tx, batch)
}

func (t *entryTx) UpdateActivity(ctx context.Context, activity entrybus.Activity, deltas ...ledger.RollupDelta) error {
	queries, batch := newBatch()
	_ = queries.UpdateActivity(ctx, UpdateActivityParams{ID: activity.ID, Year: activity.Year, Inputs: activity.Inputs})
	_ = queries.DeleteEmissionsOf(ctx, activity.ID)
	queueEmissions(ctx, queries, activity.Emissions)
	queueRollups(ctx, queries, activity.LabID, deltas)
	return send(ctx, t.tx, batch)
}

func (t *entryTx) DeleteActivity(ctx context.Context, activity entrybus.Activity, deltas ...ledger.RollupDelta) error {
	queries, batch := newBatch()
	_ = queries.DeleteEmissionsOf(ctx, activity.ID)
	_ = queries.DeleteActivity(ctx, activity.ID)
	queueRollups(ctx, queries, activity.LabID, deltas)
	return send(ctx, t.tx, batch)
}

func queueEmissions(ctx context.Context, queries *Queries, emissions []ledger.Emission) {
	for _, e := range emissions {
		var factorID *uuid.UUID
		if e.FactorID != (uuid.UUID{}) {
			factorID = &e.FactorID
		}
		_ = queries.InsertEmission(ctx, InsertEmissionParams{
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
	activities, err := withEmissions(ctx, s.queries, []CalcActivity{row})
	if err != nil {
		return entrybus.Activity{}, err
	}
	return activities[0], nil
}

func (s *Store) ListActivities(ctx context.Context, labID uuid.UUID, filter entrybus.Filter, before *uuid.UUID, limit int32) ([]entrybus.Activity, error) {
	rows, err := s.queries.ListActivities(ctx, ListActivitiesParams{
		LabID: labID, Year: filter.Year, Module: filter.Module, Kind: filter.Kind, Source: filter.Source, BeforeID: before, PageLimit: limit,
	})
	if err != nil {
		return nil, err
	}
	return withEmissions(ctx, s.queries, rows)
}

// withEmissions attaches their emissions to activities, in one query.
func withEmissions(ctx context.Context, queries *Queries, rows []CalcActivity) ([]entrybus.Activity, error) {
	ids := make([]uuid.UUID, len(rows))
	activities := make([]entrybus.Activity, len(rows))
	index := make(map[uuid.UUID]int, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
		index[row.ID] = i
		activities[i] = entrybus.Activity{CreatedAt: row.CreatedAt, Activity: ledger.Activity{
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
