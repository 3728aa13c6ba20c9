// Package reportdatadb reads labs' figures for the reporting service from
// the calc schema: rollups, counts, totals and export rows.
package reportdatadb

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatabus"
)

// Store implements reportdatabus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

// Figures reads the rollups, activity counts and import counts of labs in
// years.
func (s *Store) Figures(ctx context.Context, labIDs []uuid.UUID, years []int32) (reportdatabus.Figures, error) {
	var figures reportdatabus.Figures
	rollups, err := s.queries.ReportRollups(ctx, calcdb.ReportRollupsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return figures, fmt.Errorf("rollups: %w", err)
	}
	counts, err := s.queries.ReportActivityCounts(ctx, calcdb.ReportActivityCountsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return figures, fmt.Errorf("activity counts: %w", err)
	}
	imports, err := s.queries.ReportImportCounts(ctx, calcdb.ReportImportCountsParams{LabIds: labIDs, Years: years})
	if err != nil {
		return figures, fmt.Errorf("import counts: %w", err)
	}
	validated, err := s.queries.ReportValidated(ctx, calcdb.ReportValidatedParams{LabIds: labIDs, Years: years})
	if err != nil {
		return figures, fmt.Errorf("validated totals: %w", err)
	}
	for _, row := range validated {
		figures.Validated = append(figures.Validated, reportdatabus.ValidatedTotal{LabID: row.LabID, Year: row.Year,
			Module: row.Module, KgCO2e: row.KgCo2e, Activities: row.Activities})
	}
	figures.Rollups = make([]reportdatabus.Rollup, len(rollups))
	for i, row := range rollups {
		figures.Rollups[i] = reportdatabus.Rollup{
			LabID: row.LabID, Year: row.Year, Module: row.Module,
			RollupKey: ledger.RollupKey{EmissionType: row.EmissionType, Scope: row.Scope, Variant: row.Variant,
				FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit, FactorID: row.FactorID},
			Quantity: row.Quantity, KgCO2e: row.KgCo2e, UncertaintySq: row.UncertaintySq, UncertaintyLinear: row.UncertaintyLinear, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback,
		}
	}
	figures.ActivityCounts = make([]reportdatabus.ActivityCount, len(counts))
	for i, row := range counts {
		figures.ActivityCounts[i] = reportdatabus.ActivityCount{LabID: row.LabID, Year: row.Year, Module: row.Module,
			Kind: row.Kind, Source: row.Source, Activities: row.Activities}
	}
	figures.ImportCounts = make([]reportdatabus.ImportCount, len(imports))
	for i, row := range imports {
		figures.ImportCounts[i] = reportdatabus.ImportCount{LabID: row.LabID, Year: row.Year, Imports: row.Imports}
	}
	return figures, nil
}

// LabYears reads every year labs have figures for.
func (s *Store) LabYears(ctx context.Context, labIDs []uuid.UUID) ([]int32, error) {
	return s.queries.ReportLabYears(ctx, labIDs)
}

// YearTotals reads every lab's totals of a year.
func (s *Store) YearTotals(ctx context.Context, year int32) ([]reportdatabus.LabTotals, error) {
	rows, err := s.queries.ReportYearTotals(ctx, year)
	totals := make([]reportdatabus.LabTotals, len(rows))
	for i, row := range rows {
		totals[i] = reportdatabus.LabTotals{LabID: row.LabID, KgCO2e: row.KgCo2e, UncertaintySq: row.UncertaintySq, FTE: row.Fte, Entries: row.Entries}
	}
	return totals, err
}

// ExportRows streams a lab-year's emissions with their activities and
// factors.
func (s *Store) ExportRows(ctx context.Context, labIDs []uuid.UUID, year int32, fn func(*reportdatabus.ExportRow) error) error {
	var out reportdatabus.ExportRow
	return s.queries.StreamReportExportRows(ctx, calcdb.ReportExportRowsParams{LabIds: labIDs, Year: year}, func(row calcdb.ReportExportRowsRow) error {
		out = reportdatabus.ExportRow{
			ActivityID: row.ActivityID, LabID: row.LabID, Module: row.Module, Kind: row.Kind, Source: row.Source,
			RowNo: row.RowNo, InputsJSON: row.InputsJson, Variant: row.Variant, EmissionType: row.EmissionType,
			Scope: row.Scope, Quantity: row.Quantity, QuantityUnit: row.QuantityUnit, KgCO2e: row.KgCo2e,
			FactorID: row.FactorID, FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion,
			FactorValue: row.FactorValue, FactorUnit: row.FactorUnit, UncertaintyPct: row.UncertaintyPct,
			Overridden: row.Overridden, Fallback: row.Fallback,
		}
		return fn(&out)
	})
}
