// Package importbus turns an import job's rows into activities and
// emissions, written once whatever happens to the worker: the job's lease
// kept with ingest, the file streamed, parsed and computed row by row, two
// COPYs in one transaction, and the outcome reported.
package importbus

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// Job is an import job as a worker sees it.
type Job struct {
	ID     uuid.UUID
	LabID  uuid.UUID
	Year   int32
	Kind   string
	Mode   string
	Module string
}

// Outcome is what a worker reports at the end of a job (ingest's
// FinishJob).
type Outcome struct {
	Result        string
	StatusMessage string
	RowsTotal     int64
	RowsOK        int64
	RowsRejected  int64
	Errors        []RowError
}

// RowError is why a row was rejected.
type RowError struct {
	Row     int64
	Column  string
	Message string
}

// ModeReplace is the import mode whose rows replace the target's earlier
// CSV rows (the other, append, adds to them), as the job says it.
const ModeReplace = "replace"

// Results.
const (
	ResultSuccess = "SUCCESS"
	ResultWarning = "WARNING"
	ResultError   = "ERROR"
)

// Jobs is the ingest service's side of a job: leases, the file, the outcome.
type Jobs interface {
	// Claim returns ErrNotClaimable when the job is not for this worker.
	Claim(ctx context.Context, jobID, worker string) (Job, time.Duration, error)
	// Heartbeat returns ErrLeaseLost once the job is no longer this worker's.
	Heartbeat(ctx context.Context, jobID, worker string, rowsProcessed int64) (cancelled bool, err error)
	ReadFile(ctx context.Context, jobID, worker string) (io.ReadCloser, error)
	Finish(ctx context.Context, jobID, worker string, outcome Outcome) error
	// Release hands the job back for another attempt, counted or not;
	// ErrLeaseLost once the job is no longer this worker's.
	Release(ctx context.Context, jobID, worker, reason string, countAttempt bool) error
}

// Labs tells a lab's country (for electricity factors).
type Labs interface {
	Country(ctx context.Context, labID uuid.UUID) (string, error)
}

// Errors of Jobs.
var (
	ErrNotClaimable = errors.New("the job cannot be claimed")
	ErrLeaseLost    = errors.New("the job's lease was lost")
	errCancelled    = errors.New("the import was cancelled")
)

// Config tunes workers.
type Config struct {
	// ErrorsKept is how many rejected rows a job reports in detail.
	ErrorsKept int `env:"IMPORT_ERRORS_KEPT, default=1000"`
	// ProgressInterval is how often a running import reports its rows to
	// ingest (when they moved): what watchers of the import see live.
	ProgressInterval time.Duration `env:"IMPORT_PROGRESS_INTERVAL, default=250ms"`
	// TempDir holds the emissions of a job between its two COPYs.
	TempDir string `env:"IMPORT_TEMP_DIR"`
	// AnalyzeAfterRows: an import that writes at least this many rows has
	// the planner's statistics refreshed once it is finished (0: never).
	AnalyzeAfterRows int64 `env:"IMPORT_ANALYZE_AFTER_ROWS, default=10000"`
	// StatementTimeout bounds each statement of an import's transaction:
	// its COPYs last as long as the file takes to stream and compute, far
	// longer than DB_STATEMENT_TIMEOUT allows other work.
	StatementTimeout time.Duration `env:"IMPORT_STATEMENT_TIMEOUT, default=30m"`
}

// Counts are an import's row counts.
type Counts struct {
	Total, OK, Rejected int64
}

// Store is what the calculator needs from storage.
type Store interface {
	// ApplyImport runs fn in one transaction that holds importID. When the
	// import was applied before, fn does not run and applied is false, with
	// the counts recorded then.
	ApplyImport(ctx context.Context, job Job, fn func(tx Tx) (Counts, error)) (applied bool, previous Counts, err error)
	// Analyze refreshes the planner's statistics of activities and
	// emissions.
	Analyze(ctx context.Context) error
}

// Tx writes one import.
type Tx interface {
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
	// ShareYear holds the lab's year against a close until the
	// transaction ends and says whether it is open.
	ShareYear(ctx context.Context, labID uuid.UUID, year int32) (open bool, err error)
	// LockTarget serialises the writers of a lab/year/kind's CSV rows
	// until the transaction ends.
	LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// ApplyRollups adds every delta to the lab's rollups in one pass, the
	// rows taken in a fixed order so concurrent writers cannot deadlock.
	ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...ledger.RollupDelta) error
}
