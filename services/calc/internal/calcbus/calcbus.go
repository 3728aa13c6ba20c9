// Package calcbus holds the calculator's rules: how an import job's rows
// become activities and emissions, written once whatever happens to the
// worker, and the factors they are computed with.
package calcbus

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// ActivityRow is an activity as written.
type ActivityRow struct {
	ID       uuid.UUID
	LabID    uuid.UUID
	Year     int32
	Module   string
	Kind     string
	Source   string
	ImportID *uuid.UUID
	RowNo    *int64
	// Inputs is the activity's inputs as a JSON object.
	Inputs []byte
}

// EmissionRow is an emission as written.
type EmissionRow struct {
	ActivityID     uuid.UUID
	Variant        string
	LabID          uuid.UUID
	Year           int32
	Module         string
	EmissionType   string
	Scope          int16
	Quantity       float64
	QuantityUnit   string
	KgCO2e         float64
	FactorID       uuid.UUID
	FactorVersion  string
	UncertaintyPct float64
}

// Counts are an import's row counts.
type Counts struct {
	Total, OK, Rejected int64
}

// Rollup is a total per lab, year, module, scope and variant.
type Rollup struct {
	Module        string
	Scope         int16
	Variant       string
	KgCO2e        float64
	UncertaintyKg float64
	Entries       int64
	UpdatedAt     time.Time
}

// Store is what the calculator needs from storage.
type Store interface {
	// ApplyImport runs fn in one transaction that holds importID. When the
	// import was applied before, fn does not run and applied is false, with
	// the counts recorded then.
	ApplyImport(ctx context.Context, importID uuid.UUID, fn func(tx ImportTx) (Counts, error)) (applied bool, previous Counts, err error)
	// Factors returns the factors of a dataset version.
	Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error)
	// EnsureFactors adds the factors a dataset lacks (existing ones stay).
	EnsureFactors(ctx context.Context, all []factors.Factor) error
	Rollups(ctx context.Context, labID uuid.UUID, year int32) ([]Rollup, error)
}

// ImportTx writes one import.
type ImportTx interface {
	// DeleteCSVRows removes a lab/year/kind's earlier CSV activities and
	// their emissions (mode replace).
	DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, module, kind string) error
	// CopyActivities streams activities in; next returns nil at the end.
	CopyActivities(ctx context.Context, next func() (*ActivityRow, error)) (int64, error)
	CopyEmissions(ctx context.Context, next func() (*EmissionRow, error)) (int64, error)
	// LockTarget serialises the writers of a lab/year/kind's CSV rows
	// until the transaction ends.
	LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// SumCSVEmissions totals what a lab/year/kind's CSV rows add to the
	// module's rollups (before a replace removes them).
	SumCSVEmissions(ctx context.Context, labID uuid.UUID, year int32, module, kind string) (RollupSums, error)
	// ApplyRollups adds every delta to the lab's rollups in one pass, the
	// rows taken in a fixed order so concurrent writers cannot deadlock.
	ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...RollupDelta) error
}

// RollupDelta is a change to a lab's rollups: sums added (Sign 1) or
// subtracted (Sign -1) for a year and module.
type RollupDelta struct {
	Year   int32
	Module string
	Sums   RollupSums
	Sign   float64
}

// RollupKey is a rollup's place within a lab/year/module.
type RollupKey struct {
	Scope   int16
	Variant string
}

// RollupSum accumulates a rollup: the uncertainty of a total is the
// root-sum-square of its emissions' absolute uncertainties, so the squares
// are what add up.
type RollupSum struct {
	KgCO2e        float64
	UncertaintySq float64
	Entries       int64
}

// RollupSums are a lab/year/module's rollups being summed.
type RollupSums map[RollupKey]*RollupSum

// sumsOf totals emissions.
func sumsOf(emissions []EmissionRow) RollupSums {
	sums := RollupSums{}
	for _, e := range emissions {
		sums.Add(e.Scope, e.Variant, e.KgCO2e, e.UncertaintyPct)
	}
	return sums
}

// Add counts one emission in.
func (s RollupSums) Add(scope int16, variant string, kg, uncertaintyPct float64) {
	key := RollupKey{scope, variant}
	sum := s[key]
	if sum == nil {
		sum = &RollupSum{}
		s[key] = sum
	}
	absolute := kg * uncertaintyPct / 100
	sum.KgCO2e += kg
	sum.UncertaintySq += absolute * absolute
	sum.Entries++
}
