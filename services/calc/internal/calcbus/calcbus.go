// Package calcbus holds the calculator's rules: how an import job's rows
// become activities and emissions, written once whatever happens to the
// worker, and the factors they are computed with.
package calcbus

import (
	"context"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// Counts are an import's row counts.
type Counts struct {
	Total, OK, Rejected int64
}

// Store is what the calculator needs from storage.
type Store interface {
	// ApplyImport runs fn in one transaction that holds importID. When the
	// import was applied before, fn does not run and applied is false, with
	// the counts recorded then.
	ApplyImport(ctx context.Context, job Job, fn func(tx ImportTx) (Counts, error)) (applied bool, previous Counts, err error)
	// Analyze refreshes the planner's statistics of activities and
	// emissions.
	Analyze(ctx context.Context) error
}

// ImportTx writes one import.
type ImportTx interface {
	// Reader reads the factors in force on the transaction's own
	// connection.
	factorbus.Reader
	// DeleteCSVRows removes a lab/year/kind's earlier CSV activities and
	// their emissions (mode replace), and says what the emissions added to
	// the module's rollups and how many activities went.
	DeleteCSVRows(ctx context.Context, labID uuid.UUID, year int32, kind string) (ledger.RollupSums, int64, error)
	// CopyActivities streams activities in; next returns nil at the end.
	CopyActivities(ctx context.Context, next func() (*ledger.Activity, error)) (int64, error)
	CopyEmissions(ctx context.Context, next func() (*ledger.Emission, error)) (int64, error)
	// LockTarget serialises the writers of a lab/year/kind's CSV rows
	// until the transaction ends.
	LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// ApplyRollups adds every delta to the lab's rollups in one pass, the
	// rows taken in a fixed order so concurrent writers cannot deadlock.
	ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...ledger.RollupDelta) error
}
