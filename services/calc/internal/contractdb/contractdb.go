// Package contractdb keeps the labs' electricity contracts in the calc
// schema, and asks the recalculations a change needs in its transaction.
package contractdb

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/contractbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Store implements contractbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

func (s *Store) UpsertContract(ctx context.Context, c contractbus.Contract, kinds []string) (contractbus.Contract, []recalcbus.Target, error) {
	var stored contractbus.Contract
	var targets []recalcbus.Target
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := holdOpen(ctx, queries, c.LabID, c.Year); err != nil {
			return err
		}
		var before *contractbus.Contract
		if row, err := queries.GetContract(ctx, calcdb.GetContractParams{LabID: c.LabID, Year: c.Year}); err == nil {
			found := toContract(row)
			before = &found
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		row, err := queries.UpsertContract(ctx, calcdb.UpsertContractParams{
			LabID: c.LabID, Year: c.Year, Supplier: c.Supplier, KgCo2ePerKwh: c.KgPerKWh, UncertaintyPct: c.UncertaintyPct,
			Source: c.Source, UpdatedBy: c.UpdatedBy,
		})
		if err != nil {
			return err
		}
		stored = toContract(row)
		if err := ledgerdb.Record(ctx, tx, contractbus.Event(audit.ActionSet, c.LabID, c.Year, before, &stored)); err != nil {
			return err
		}
		targets, err = askLabRecalculations(ctx, queries, c.LabID, c.Year, kinds)
		return err
	})
	return stored, targets, err
}

// askLabRecalculations asks a recalculation of the lab's kinds of year.
func askLabRecalculations(ctx context.Context, queries *calcdb.Queries, labID uuid.UUID, year int32, kinds []string) ([]recalcbus.Target, error) {
	rows, err := queries.RequestLabRecalculations(ctx, calcdb.RequestLabRecalculationsParams{LabID: labID, Year: year, Kinds: kinds})
	targets := make([]recalcbus.Target, len(rows))
	for i, row := range rows {
		targets[i] = recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind}
	}
	return targets, err
}

func (s *Store) GetContract(ctx context.Context, labID uuid.UUID, year int32) (contractbus.Contract, error) {
	row, err := s.queries.GetContract(ctx, calcdb.GetContractParams{LabID: labID, Year: year})
	if errors.Is(err, pgx.ErrNoRows) {
		return contractbus.Contract{}, contractbus.ErrNotFound
	}
	return toContract(row), err
}

func (s *Store) ListContracts(ctx context.Context, labID uuid.UUID) ([]contractbus.Contract, error) {
	rows, err := s.queries.ListContracts(ctx, labID)
	contracts := make([]contractbus.Contract, len(rows))
	for i, row := range rows {
		contracts[i] = toContract(row)
	}
	return contracts, err
}

func (s *Store) DeleteContract(ctx context.Context, labID uuid.UUID, year int32, kinds []string) (bool, []recalcbus.Target, error) {
	var deleted bool
	var targets []recalcbus.Target
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := holdOpen(ctx, queries, labID, year); err != nil {
			return err
		}
		row, err := queries.GetContract(ctx, calcdb.GetContractParams{LabID: labID, Year: year})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := queries.DeleteContract(ctx, calcdb.DeleteContractParams{LabID: labID, Year: year})
		if err != nil || n == 0 {
			return err
		}
		deleted = true
		before := toContract(row)
		if err := ledgerdb.Record(ctx, tx, contractbus.Event(audit.ActionDelete, labID, year, &before, nil)); err != nil {
			return err
		}
		targets, err = askLabRecalculations(ctx, queries, labID, year, kinds)
		return err
	})
	return deleted, targets, err
}

func toContract(row calcdb.CalcElectricityContract) contractbus.Contract {
	return contractbus.Contract{
		LabID: row.LabID, Year: row.Year, Supplier: row.Supplier, KgPerKWh: row.KgCo2ePerKwh, UncertaintyPct: row.UncertaintyPct,
		Source: row.Source, UpdatedBy: row.UpdatedBy, UpdatedAt: row.UpdatedAt,
	}
}

// holdOpen holds the lab's year against a close until the transaction
// ends; contractbus.ErrYearClosed when it is closed.
func holdOpen(ctx context.Context, queries *calcdb.Queries, labID uuid.UUID, year int32) error {
	open, err := ledgerdb.ShareYear(ctx, queries, labID, year)
	if err == nil && !open {
		return contractbus.ErrYearClosed
	}
	return err
}
