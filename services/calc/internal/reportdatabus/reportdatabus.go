// Package reportdatabus answers the reporting service's questions about
// labs' figures: their rollups, years, totals and the rows of an export.
// Its one rule is who may ask (the reporting service), and how much at
// once.
package reportdatabus

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Limits of one question.
const (
	maxLabs  = 1000
	maxYears = 100
)

// Rollup is a lab's total for a year, module and rollup key.
type Rollup struct {
	LabID  uuid.UUID
	Year   int32
	Module string
	ledger.RollupKey
	Quantity          float64
	KgCO2e            float64
	UncertaintySq     float64
	UncertaintyLinear float64
	Entries           int64
	Overridden        int64
	Fallback          int64
}

// ActivityCount is how many activities of a kind and source a lab has in a
// year and module.
type ActivityCount struct {
	LabID                uuid.UUID
	Year                 int32
	Module, Kind, Source string
	Activities           int64
}

// ImportCount is how many imports wrote a lab's year.
type ImportCount struct {
	LabID   uuid.UUID
	Year    int32
	Imports int64
}

// ValidatedTotal is what a lab's validated activities of a year and module
// emit (variant "", scopes 1 to 3).
type ValidatedTotal struct {
	LabID      uuid.UUID
	Year       int32
	Module     string
	KgCO2e     float64
	Activities int64
}

// Figures are what a report is built from.
type Figures struct {
	Rollups        []Rollup
	ActivityCounts []ActivityCount
	ImportCounts   []ImportCount
	// Validated are the validated activities' totals (ADR 019).
	Validated []ValidatedTotal
}

// LabTotals are a lab's totals of a year, for the institution's ranking.
type LabTotals struct {
	LabID         uuid.UUID
	KgCO2e        float64
	UncertaintySq float64
	FTE           float64
	Entries       int64
}

// ExportRow is an emission with its activity and factor, as an export
// writes it.
type ExportRow struct {
	ActivityID     uuid.UUID
	LabID          uuid.UUID
	Module         string
	Kind           string
	Source         string
	RowNo          int64
	InputsJSON     string
	Variant        string
	EmissionType   string
	Scope          int16
	Quantity       float64
	QuantityUnit   string
	KgCO2e         float64
	FactorID       *uuid.UUID
	FactorDataset  string
	FactorVersion  string
	FactorValue    float64
	FactorUnit     string
	UncertaintyPct float64
	Overridden     bool
	Fallback       bool
}

// Store reads the figures.
type Store interface {
	Figures(ctx context.Context, labIDs []uuid.UUID, years []int32) (Figures, error)
	LabYears(ctx context.Context, labIDs []uuid.UUID) ([]int32, error)
	YearTotals(ctx context.Context, year int32) ([]LabTotals, error)
	// ExportRows calls fn with each row as it comes from the database, in
	// module, kind and activity order, so an export never sits in memory.
	ExportRows(ctx context.Context, labIDs []uuid.UUID, year int32, fn func(*ExportRow) error) error
}

// ReportData answers the reporting service.
type ReportData struct {
	store Store
}

// New returns the answers over store.
func New(store Store) *ReportData { return &ReportData{store: store} }

// Figures returns the rollups, activity counts and import counts of labs
// in years.
func (r *ReportData) Figures(ctx context.Context, labIDs []string, years []int32) (Figures, error) {
	ids, err := r.require(ctx, labIDs)
	if err != nil {
		return Figures{}, err
	}
	if len(years) == 0 || len(years) > maxYears {
		return Figures{}, apperr.Invalid("years", "give 1 to %d years (got %d)", maxYears, len(years))
	}
	figures, err := r.store.Figures(ctx, ids, years)
	if err != nil {
		return Figures{}, fmt.Errorf("list rollups: %w", err)
	}
	return figures, nil
}

// LabYears returns every year labs have figures for.
func (r *ReportData) LabYears(ctx context.Context, labIDs []string) ([]int32, error) {
	ids, err := r.require(ctx, labIDs)
	if err != nil {
		return nil, err
	}
	years, err := r.store.LabYears(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list lab years: %w", err)
	}
	return years, nil
}

// YearTotals returns every lab's totals of year.
func (r *ReportData) YearTotals(ctx context.Context, year int32) ([]LabTotals, error) {
	if err := requireReporting(ctx); err != nil {
		return nil, err
	}
	totals, err := r.store.YearTotals(ctx, year)
	if err != nil {
		return nil, fmt.Errorf("year totals: %w", err)
	}
	return totals, nil
}

// ExportRows calls fn with each emission of labs in year.
func (r *ReportData) ExportRows(ctx context.Context, labIDs []string, year int32, fn func(*ExportRow) error) error {
	ids, err := r.require(ctx, labIDs)
	if err != nil {
		return err
	}
	if err := r.store.ExportRows(ctx, ids, year, fn); err != nil {
		return fmt.Errorf("stream export rows: %w", err)
	}
	return nil
}

// requireReporting refuses every caller but the reporting service.
func requireReporting(ctx context.Context) error {
	return authz.RequireService(ctx, "reporting")
}

// require checks the caller and the lab ids asked about.
func (r *ReportData) require(ctx context.Context, labIDs []string) ([]uuid.UUID, error) {
	if err := requireReporting(ctx); err != nil {
		return nil, err
	}
	if len(labIDs) == 0 || len(labIDs) > maxLabs {
		return nil, apperr.Invalid("lab_ids", "give 1 to %d lab ids (got %d)", maxLabs, len(labIDs))
	}
	ids := make([]uuid.UUID, 0, len(labIDs))
	for _, id := range labIDs {
		labID, err := uuid.Parse(id)
		if err != nil {
			return nil, apperr.Invalid("lab_ids", "%q is not a lab id (a UUID)", id)
		}
		ids = append(ids, labID)
	}
	return ids, nil
}
