// Package calcbus holds the calculator's rules: how an import job's rows
// become activities and emissions, written once whatever happens to the
// worker, and the factors they are computed with.
package calcbus

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
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
	ActivityID   uuid.UUID
	Variant      string
	LabID        uuid.UUID
	Year         int32
	Module       string
	EmissionType string
	Scope        int16
	Quantity     float64
	QuantityUnit string
	KgCO2e       float64
	// FactorID is zero when no factor was used (an override, a measure).
	FactorID       uuid.UUID
	FactorDataset  string
	FactorVersion  string
	UncertaintyPct float64
	Overridden     bool
	Fallback       bool
}

// emissionRow is a computed emission as written for an activity.
func emissionRow(activityID, labID uuid.UUID, year int32, module string, e kinds.Emission) EmissionRow {
	return EmissionRow{
		ActivityID: activityID, Variant: e.Variant, LabID: labID, Year: year, Module: module, EmissionType: e.EmissionType,
		Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit, KgCO2e: e.KgCO2e,
		FactorID: e.Factor.ID, FactorDataset: e.Factor.Dataset, FactorVersion: e.Factor.Version,
		UncertaintyPct: e.Factor.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
	}
}

// Counts are an import's row counts.
type Counts struct {
	Total, OK, Rejected int64
}

// Rollup is a total per lab, year, module and RollupKey.
type Rollup struct {
	Module string
	RollupKey
	Quantity      float64
	KgCO2e        float64
	UncertaintyKg float64
	Entries       int64
	Overridden    int64
	Fallback      int64
	UpdatedAt     time.Time
}

// Store is what the calculator needs from storage.
type Store interface {
	// ApplyImport runs fn in one transaction that holds importID. When the
	// import was applied before, fn does not run and applied is false, with
	// the counts recorded then.
	ApplyImport(ctx context.Context, job Job, fn func(tx ImportTx) (Counts, error)) (applied bool, previous Counts, err error)
	FactorSource
	Rollups(ctx context.Context, labID uuid.UUID, year int32) ([]Rollup, error)
	ContractStore
	// Analyze refreshes the planner's statistics of activities and
	// emissions.
	Analyze(ctx context.Context) error
}

// ImportTx writes one import.
type ImportTx interface {
	// FactorReader reads the factors in force on the transaction's own
	// connection.
	FactorReader
	// DeleteCSVRows removes a lab/year/kind's earlier CSV activities and
	// their emissions (mode replace), and says what the emissions added to
	// the module's rollups and how many activities went.
	DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, kind string) (RollupSums, int64, error)
	// CopyActivities streams activities in; next returns nil at the end.
	CopyActivities(ctx context.Context, next func() (*ActivityRow, error)) (int64, error)
	CopyEmissions(ctx context.Context, next func() (*EmissionRow, error)) (int64, error)
	// LockTarget serialises the writers of a lab/year/kind's CSV rows
	// until the transaction ends.
	LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// ApplyRollups adds every delta to the lab's rollups in one pass, the
	// rows taken in a fixed order so concurrent writers cannot deadlock.
	ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...RollupDelta) error
}

// RollupDelta is a change to a lab's rollups: sums added (Sign 1) or
// subtracted (Sign -1) for a year and module, and the number of activities
// of a kind and source that carry them.
type RollupDelta struct {
	Year       int32
	Module     string
	Sums       RollupSums
	Sign       float64
	Kind       string
	Source     string
	Activities int64
}

// RollupKey is a rollup's place within a lab/year/module.
type RollupKey struct {
	EmissionType  string
	Scope         int16
	Variant       string
	FactorDataset string
	FactorVersion string
	QuantityUnit  string
}

// Less orders keys: every writer updates rollup rows in one order.
func (k RollupKey) Less(other RollupKey) bool {
	return k.compare(other) < 0
}

func (k RollupKey) compare(o RollupKey) int {
	if c := strings.Compare(k.EmissionType, o.EmissionType); c != 0 {
		return c
	}
	if k.Scope != o.Scope {
		return int(k.Scope) - int(o.Scope)
	}
	for _, pair := range [][2]string{{k.Variant, o.Variant}, {k.FactorDataset, o.FactorDataset}, {k.FactorVersion, o.FactorVersion}} {
		if c := strings.Compare(pair[0], pair[1]); c != 0 {
			return c
		}
	}
	return strings.Compare(k.QuantityUnit, o.QuantityUnit)
}

// RollupSum accumulates a rollup: the uncertainty of a total is the
// root-sum-square of its emissions' absolute uncertainties, so the squares
// are what add up.
type RollupSum struct {
	Quantity      float64
	KgCO2e        float64
	UncertaintySq float64
	Entries       int64
	Overridden    int64
	Fallback      int64
}

// Merge adds sign × other to s.
func (s *RollupSum) Merge(other *RollupSum, sign float64) {
	s.Quantity += sign * other.Quantity
	s.KgCO2e += sign * other.KgCO2e
	s.UncertaintySq += sign * other.UncertaintySq
	s.Entries += int64(sign) * other.Entries
	s.Overridden += int64(sign) * other.Overridden
	s.Fallback += int64(sign) * other.Fallback
}

// RollupSums are a lab/year/module's rollups being summed.
type RollupSums map[RollupKey]*RollupSum

// sumsOf totals emissions.
func sumsOf(emissions []EmissionRow) RollupSums {
	sums := RollupSums{}
	for i := range emissions {
		sums.Add(&emissions[i])
	}
	return sums
}

// Add counts one emission in.
func (s RollupSums) Add(e *EmissionRow) {
	s.sum(RollupKey{EmissionType: e.EmissionType, Scope: e.Scope, Variant: e.Variant,
		FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion, QuantityUnit: e.QuantityUnit}).add(e)
}

// sum is key's rollup, added empty the first time.
func (s RollupSums) sum(key RollupKey) *RollupSum {
	sum := s[key]
	if sum == nil {
		sum = &RollupSum{}
		s[key] = sum
	}
	return sum
}

// add adds one emission.
func (s *RollupSum) add(e *EmissionRow) {
	absolute := e.KgCO2e * e.UncertaintyPct / 100
	s.Quantity += e.Quantity
	s.KgCO2e += e.KgCO2e
	s.UncertaintySq += absolute * absolute
	s.Entries++
	if e.Overridden {
		s.Overridden++
	}
	if e.Fallback {
		s.Fallback++
	}
}
