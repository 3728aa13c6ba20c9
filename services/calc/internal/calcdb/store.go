// Package calcdb stores factors, activities, emissions and rollups in the
// calc schema: sqlc queries from queries/*.sql, and COPY for bulk writes.
package calcdb

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// Store implements calcbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: New(pool)}
}

// ApplyImport holds importID by inserting its row first: a concurrent
// attempt at the same import waits on that row until this transaction ends,
// then finds it applied.
func (s *Store) ApplyImport(ctx context.Context, importID uuid.UUID, fn func(tx calcbus.ImportTx) (calcbus.Counts, error)) (bool, calcbus.Counts, error) {
	var counts calcbus.Counts
	appliedNow := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		_, err := queries.ClaimImport(ctx, importID)
		if errors.Is(err, pgx.ErrNoRows) {
			previous, err := queries.GetAppliedImport(ctx, importID)
			counts = calcbus.Counts{Total: previous.RowsTotal, OK: previous.RowsOk, Rejected: previous.RowsRejected}
			return err
		}
		if err != nil {
			return err
		}
		counts, err = fn(&importTx{tx: tx, queries: queries})
		if err != nil {
			return err
		}
		appliedNow = true
		return queries.RecordAppliedImport(ctx, RecordAppliedImportParams{
			ImportID: importID, RowsTotal: counts.Total, RowsOk: counts.OK, RowsRejected: counts.Rejected,
		})
	})
	return appliedNow, counts, err
}

type importTx struct {
	tx      pgx.Tx
	queries *Queries
}

func (t *importTx) DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, module, kind string) error {
	if err := t.queries.DeleteCSVEmissions(ctx, DeleteCSVEmissionsParams{LabID: labID, Year: year, Kind: kind, Module: module}); err != nil {
		return err
	}
	return t.queries.DeleteCSVActivities(ctx, DeleteCSVActivitiesParams{LabID: labID, Year: year, Kind: kind})
}

var activityColumns = []string{"id", "lab_id", "year", "module", "kind", "source", "import_id", "row_no", "inputs"}

func (t *importTx) CopyActivities(ctx context.Context, next func() (*calcbus.ActivityRow, error)) (int64, error) {
	return t.tx.CopyFrom(ctx, pgx.Identifier{"calc", "activities"}, activityColumns, &source[calcbus.ActivityRow]{next: next, values: func(row *calcbus.ActivityRow) []any {
		return []any{pgUUID(row.ID), pgUUID(row.LabID), row.Year, row.Module, row.Kind, row.Source, pgUUIDPtr(row.ImportID), row.RowNo, string(row.Inputs)}
	}})
}

var emissionColumns = []string{"activity_id", "variant", "lab_id", "year", "module", "emission_type", "scope", "quantity", "quantity_unit", "kg_co2e", "factor_id", "factor_version", "uncertainty_pct"}

func (t *importTx) CopyEmissions(ctx context.Context, next func() (*calcbus.EmissionRow, error)) (int64, error) {
	return t.tx.CopyFrom(ctx, pgx.Identifier{"calc", "emissions"}, emissionColumns, &source[calcbus.EmissionRow]{next: next, values: func(row *calcbus.EmissionRow) []any {
		return []any{pgUUID(row.ActivityID), row.Variant, pgUUID(row.LabID), row.Year, row.Module, row.EmissionType, row.Scope,
			row.Quantity, row.QuantityUnit, row.KgCO2e, pgUUID(row.FactorID), row.FactorVersion, row.UncertaintyPct}
	}})
}

func (t *importTx) RecomputeRollups(ctx context.Context, labID uuid.UUID, year int32, module string) error {
	if err := t.queries.DeleteRollups(ctx, DeleteRollupsParams{LabID: labID, Year: year, Module: module}); err != nil {
		return err
	}
	return t.queries.InsertRollups(ctx, InsertRollupsParams{LabID: labID, Year: year, Module: module})
}

// pgUUID hands pgx a UUID in its own type: its binary encoding is a copy,
// where uuid.UUID would go through its text form.
func pgUUID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func pgUUIDPtr(id *uuid.UUID) pgtype.UUID {
	if id == nil {
		return pgtype.UUID{}
	}
	return pgUUID(*id)
}

// source adapts a pull function to pgx.CopyFromSource.
type source[Row any] struct {
	next    func() (*Row, error)
	values  func(*Row) []any
	current *Row
	err     error
}

func (s *source[Row]) Next() bool {
	s.current, s.err = s.next()
	return s.err == nil && s.current != nil
}

func (s *source[Row]) Values() ([]any, error) { return s.values(s.current), nil }

func (s *source[Row]) Err() error { return s.err }

func (s *Store) Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error) {
	rows, err := s.queries.ListFactors(ctx, ListFactorsParams{Dataset: dataset, Version: version})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = factors.Factor{
			ID: row.ID, Dataset: row.Dataset, Version: row.Version, Kind: row.Kind, EmissionType: row.EmissionType,
			Classification: row.Classification, Region: row.Region, Year: row.Year, Value: row.Value, Unit: row.Unit,
			Source: row.Source, Licence: row.Licence, GWPSet: row.GwpSet, Boundary: row.Boundary,
			RadiativeForcing: row.RadiativeForcing, UncertaintyPct: row.UncertaintyPct,
		}
	}
	return all, err
}

func (s *Store) EnsureFactors(ctx context.Context, all []factors.Factor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		for _, f := range all {
			if err := queries.InsertFactor(ctx, InsertFactorParams{
				Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification,
				Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit, Source: f.Source, Licence: f.Licence,
				GwpSet: f.GWPSet, Boundary: f.Boundary, RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Rollups(ctx context.Context, labID uuid.UUID, year int32) ([]calcbus.Rollup, error) {
	rows, err := s.queries.ListRollups(ctx, ListRollupsParams{LabID: labID, Year: year})
	rollups := make([]calcbus.Rollup, len(rows))
	for i, row := range rows {
		rollups[i] = calcbus.Rollup{Module: row.Module, Scope: row.Scope, Variant: row.Variant, KgCO2e: row.KgCo2e,
			UncertaintyKg: row.UncertaintyKg, Entries: row.Entries, UpdatedAt: row.UpdatedAt}
	}
	return rollups, err
}
