package calcdb

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
)

func (s *Store) UpsertContract(ctx context.Context, c calcbus.ContractRow) (calcbus.ContractRow, error) {
	row, err := s.queries.UpsertContract(ctx, UpsertContractParams{
		LabID: c.LabID, Year: c.Year, Supplier: c.Supplier, KgCo2ePerKwh: c.KgPerKWh, UncertaintyPct: c.UncertaintyPct,
		Source: c.Source, UpdatedBy: c.UpdatedBy,
	})
	return toContract(row), err
}

func (s *Store) GetContract(ctx context.Context, labID uuid.UUID, year int32) (calcbus.ContractRow, error) {
	row, err := s.queries.GetContract(ctx, GetContractParams{LabID: labID, Year: year})
	if errors.Is(err, pgx.ErrNoRows) {
		return calcbus.ContractRow{}, calcbus.ErrNotFound
	}
	return toContract(row), err
}

func (s *Store) ListContracts(ctx context.Context, labID uuid.UUID) ([]calcbus.ContractRow, error) {
	rows, err := s.queries.ListContracts(ctx, labID)
	contracts := make([]calcbus.ContractRow, len(rows))
	for i, row := range rows {
		contracts[i] = toContract(row)
	}
	return contracts, err
}

func (s *Store) DeleteContract(ctx context.Context, labID uuid.UUID, year int32) (bool, error) {
	n, err := s.queries.DeleteContract(ctx, DeleteContractParams{LabID: labID, Year: year})
	return n > 0, err
}

func toContract(row CalcElectricityContract) calcbus.ContractRow {
	return calcbus.ContractRow{
		LabID: row.LabID, Year: row.Year, Supplier: row.Supplier, KgPerKWh: row.KgCo2ePerKwh, UncertaintyPct: row.UncertaintyPct,
		Source: row.Source, UpdatedBy: row.UpdatedBy, UpdatedAt: row.UpdatedAt,
	}
}
