// Package factordb reads and stores emission factors in the calc schema:
// the factors of a dataset version, the version in force for a year, a
// lab's contract as computations take it, and searches.
package factordb

import (
	"context"
	"errors"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Reader reads what computes a lab's year through queries (the pool's, or
// a transaction's).
type Reader struct {
	queries *calcdb.Queries
}

// NewReader returns a reader over queries.
func NewReader(queries *calcdb.Queries) Reader { return Reader{queries: queries} }

// Store implements factorbus.Source and factorbus.SearchStore on
// PostgreSQL.
type Store struct {
	Reader
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	queries := calcdb.New(pool)
	return &Store{Reader: NewReader(queries), pool: pool, queries: queries}
}

// ActiveVersion reads a year's activation.
func (r Reader) ActiveVersion(ctx context.Context, year int32) (factors.VersionRef, bool, error) {
	return activeVersion(ctx, r.queries, year)
}

func activeVersion(ctx context.Context, queries *calcdb.Queries, year int32) (factors.VersionRef, bool, error) {
	row, err := queries.ActiveVersionOf(ctx, year)
	if errors.Is(err, pgx.ErrNoRows) {
		return factors.VersionRef{}, false, nil
	}
	if err != nil {
		return factors.VersionRef{}, false, err
	}
	return factors.VersionRef{Dataset: row.Dataset, Version: row.Version}, true, nil
}

// Contract reads a lab's electricity contract as computations take it.
func (r Reader) Contract(ctx context.Context, labID uuid.UUID, year int32) (*kinds.Contract, error) {
	row, err := r.queries.GetContract(ctx, calcdb.GetContractParams{LabID: labID, Year: year})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &kinds.Contract{Supplier: row.Supplier, KgPerKWh: row.KgCo2ePerKwh, UncertaintyPct: row.UncertaintyPct, Source: row.Source}, nil
}

// Factors reads a dataset version's factors.
func (r Reader) Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error) {
	return factorsOf(ctx, r.queries, dataset, version)
}

func factorsOf(ctx context.Context, queries *calcdb.Queries, dataset, version string) ([]factors.Factor, error) {
	rows, err := queries.ListFactors(ctx, calcdb.ListFactorsParams{Dataset: dataset, Version: version})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = toFactor(row)
	}
	return all, err
}

func (s *Store) EnsureFactors(ctx context.Context, all []factors.Factor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := ensureDatasetVersions(ctx, queries, all); err != nil {
			return err
		}
		var batch calcdb.InsertFactorsParams
		for _, f := range all {
			rf := ""
			if f.RadiativeForcing != nil {
				rf = strconv.FormatBool(*f.RadiativeForcing)
			}
			batch.Datasets, batch.Versions = append(batch.Datasets, f.Dataset), append(batch.Versions, f.Version)
			batch.Kinds, batch.EmissionTypes = append(batch.Kinds, f.Kind), append(batch.EmissionTypes, f.EmissionType)
			batch.Classifications, batch.Regions = append(batch.Classifications, f.Classification), append(batch.Regions, f.Region)
			batch.Years, batch.FactorValues = append(batch.Years, f.Year), append(batch.FactorValues, f.Value)
			batch.Units, batch.Sources, batch.Licences = append(batch.Units, f.Unit), append(batch.Sources, f.Source), append(batch.Licences, f.Licence)
			batch.GwpSets, batch.Boundaries = append(batch.GwpSets, f.GWPSet), append(batch.Boundaries, f.Boundary)
			batch.RadiativeForcings, batch.UncertaintyPcts = append(batch.RadiativeForcings, rf), append(batch.UncertaintyPcts, f.UncertaintyPct)
		}
		return queries.InsertFactors(ctx, batch)
	})
}

func (s *Store) SearchFactors(ctx context.Context, filter factorbus.Filter, after *uuid.UUID, limit int32) ([]factors.Factor, error) {
	rows, err := s.queries.SearchFactors(ctx, calcdb.SearchFactorsParams{
		Dataset: filter.Dataset, Version: filter.Version, Kind: filter.Kind, EmissionType: filter.EmissionType,
		Classification: filter.Classification, Region: filter.Region, Year: filter.Year, AfterID: after, PageLimit: limit,
	})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = toFactor(row)
	}
	return all, err
}

func toFactor(row calcdb.CalcFactor) factors.Factor {
	return factors.Factor{
		ID: row.ID, Dataset: row.Dataset, Version: row.Version, Kind: row.Kind, EmissionType: row.EmissionType,
		Classification: row.Classification, Region: row.Region, Year: row.Year, Value: row.Value, Unit: row.Unit,
		Source: row.Source, Licence: row.Licence, GWPSet: row.GwpSet, Boundary: row.Boundary,
		RadiativeForcing: row.RadiativeForcing, UncertaintyPct: row.UncertaintyPct,
	}
}

// ensureDatasetVersions records the bundled dataset's versions as FINISHED
// (idempotent).
func ensureDatasetVersions(ctx context.Context, queries *calcdb.Queries, all []factors.Factor) error {
	seen := map[factors.VersionRef]bool{}
	for _, f := range all {
		ref := factors.VersionRef{Dataset: f.Dataset, Version: f.Version}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if err := queries.EnsureDatasetVersion(ctx, calcdb.EnsureDatasetVersionParams{
			ID: uuid.Must(uuid.NewV7()), Dataset: f.Dataset, Version: f.Version, Description: "bundled with the calculator",
		}); err != nil {
			return err
		}
	}
	return nil
}
