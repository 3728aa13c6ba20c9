package calcdb

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

func (s *Store) SearchFactors(ctx context.Context, filter calcbus.FactorFilter, after *uuid.UUID, limit int32) ([]factors.Factor, error) {
	rows, err := s.queries.SearchFactors(ctx, SearchFactorsParams{
		Dataset: filter.Dataset, Version: filter.Version, Kind: filter.Kind, EmissionType: filter.EmissionType,
		Classification: filter.Classification, Region: filter.Region, Year: filter.Year, AfterID: after, PageLimit: limit,
	})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = toFactor(row)
	}
	return all, err
}

func (s *Store) ListFactorDatasets(ctx context.Context) ([]calcbus.DatasetVersion, error) {
	rows, err := s.queries.ListFactorDatasets(ctx)
	versions := make([]calcbus.DatasetVersion, len(rows))
	for i, row := range rows {
		versions[i] = calcbus.DatasetVersion{
			Dataset: row.Dataset, Version: row.Version, Factors: row.Factors,
			FirstYear: row.FirstYear, LastYear: row.LastYear, Licences: row.Licences,
		}
	}
	return versions, err
}

func toFactor(row CalcFactor) factors.Factor {
	return factors.Factor{
		ID: row.ID, Dataset: row.Dataset, Version: row.Version, Kind: row.Kind, EmissionType: row.EmissionType,
		Classification: row.Classification, Region: row.Region, Year: row.Year, Value: row.Value, Unit: row.Unit,
		Source: row.Source, Licence: row.Licence, GWPSet: row.GwpSet, Boundary: row.Boundary,
		RadiativeForcing: row.RadiativeForcing, UncertaintyPct: row.UncertaintyPct,
	}
}
