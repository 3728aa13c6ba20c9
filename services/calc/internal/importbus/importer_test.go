package importbus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yeardb"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// ingest plays the ingest service's side of one job, as its
// ImportWorkerService answers a worker: a claim gives the job and a lease,
// heartbeats say whether the job was cancelled, and the outcome is kept.
type ingest struct {
	mu        sync.Mutex
	job       importbus.Job
	file      string
	claimable bool
	cancelled bool
	finished  []importbus.Outcome
	released  []bool // countAttempt of each hand-back
}

func (i *ingest) Claim(_ context.Context, jobID, _ string) (importbus.Job, time.Duration, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.claimable || jobID != i.job.ID.String() {
		return importbus.Job{}, 0, importbus.ErrNotClaimable
	}
	return i.job, 30 * time.Second, nil
}

func (i *ingest) Heartbeat(context.Context, string, string, int64) (bool, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cancelled, nil
}

func (i *ingest) ReadFile(context.Context, string, string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(i.file)), nil
}

func (i *ingest) Finish(_ context.Context, _, _ string, outcome importbus.Outcome) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.finished = append(i.finished, outcome)
	return nil
}

func (i *ingest) Release(_ context.Context, _, _, _ string, countAttempt bool) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.released = append(i.released, countAttempt)
	return nil
}

// labs tells every lab's country, or fails as labs would when it is away.
type labs struct{ err error }

func (l labs) Country(context.Context, uuid.UUID) (string, error) { return "CH", l.err }

const header = "equipment_name,category,active_hours_per_week,active_power_w\n"

type system struct {
	pool     *pgxpool.Pool
	importer func(*ingest, labs) *importbus.Importer
}

func newSystem(t *testing.T) system {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations})
	inForce := factorbus.NewCache(factordb.NewStore(pool))
	if err := inForce.LoadDefault(context.Background()); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := importdb.NewStore(pool, time.Minute)
	return system{pool: pool, importer: func(jobs *ingest, countries labs) *importbus.Importer {
		return importbus.NewImporter(logger, store, jobs, countries, inForce, "worker-1",
			importbus.Config{ErrorsKept: 10, ProgressInterval: 10 * time.Millisecond, TempDir: t.TempDir(), AnalyzeAfterRows: 0})
	}}
}

// count returns how many rows a query over the calc schema counts.
func (s system) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newJob(mode string, rows ...string) *ingest {
	return &ingest{claimable: true, file: header + strings.Join(rows, ""),
		job: importbus.Job{ID: uuid.New(), LabID: uuid.New(), Year: 2025, Kind: "equipment", Mode: mode, Module: "equipment"}}
}

// An import writes each good row once, with its two electricity emissions,
// reports the refused rows with their line and column, and a second
// attempt at the same job writes nothing more.
func TestAnImportIsWrittenOnceAndReportsItsRows(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	jobs := newJob("append",
		"Freezer,scientific,168,350\n",
		"Laptop,it,40,30\n",
		"Oven,kitchen,10,2000\n", // not a category
		"Server,it,168,\n")       // no power
	if err := s.importer(jobs, labs{}).Process(ctx, jobs.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if len(jobs.finished) != 1 {
		t.Fatalf("finished %d times", len(jobs.finished))
	}
	outcome := jobs.finished[0]
	if outcome.Result != importbus.ResultWarning || outcome.RowsTotal != 4 || outcome.RowsOK != 2 || outcome.RowsRejected != 2 ||
		outcome.StatusMessage != "2 rows imported, 2 rejected; see the errors" {
		t.Fatalf("outcome: %+v", outcome)
	}
	if len(outcome.Errors) != 2 || outcome.Errors[0] != (importbus.RowError{Row: 4, Column: "category", Message: outcome.Errors[0].Message}) ||
		outcome.Errors[1].Row != 5 || outcome.Errors[1].Column != "active_power_w" {
		t.Fatalf("row errors: %+v", outcome.Errors)
	}
	written := func() (activities, emissions int64) {
		return s.count(t, "SELECT count(*) FROM calc.activities WHERE import_id = $1", jobs.job.ID),
			s.count(t, "SELECT count(*) FROM calc.emissions e JOIN calc.activities a ON a.id = e.activity_id WHERE a.import_id = $1", jobs.job.ID)
	}
	if activities, emissions := written(); activities != 2 || emissions != 4 {
		t.Fatalf("written: %d activities, %d emissions; want 2 and 4 (location- and market-based)", activities, emissions)
	}
	if entries := s.count(t, "SELECT coalesce(sum(entries), 0) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", jobs.job.LabID); entries != 2 {
		t.Fatalf("the rollups count %d emissions in totals, want 2", entries)
	}

	// The lease expired after the commit, before ingest heard: the next
	// attempt finds the import applied.
	if err := s.importer(jobs, labs{}).Process(ctx, jobs.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	again := jobs.finished[1]
	if again.RowsOK != 2 || again.RowsRejected != 2 || !strings.HasSuffix(again.StatusMessage, "(written by an earlier attempt)") {
		t.Fatalf("second attempt: %+v", again)
	}
	if activities, emissions := written(); activities != 2 || emissions != 4 {
		t.Fatalf("after a second attempt: %d activities, %d emissions", activities, emissions)
	}
}

// An import in mode replace takes the place of the target's earlier CSV
// rows, and the totals follow.
func TestAReplaceTakesThePlaceOfTheEarlierRows(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	first := newJob("append", "Freezer,scientific,168,350\n", "Laptop,it,40,30\n", "Fridge,other,168,100\n")
	if err := s.importer(first, labs{}).Process(ctx, first.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	second := newJob(importbus.ModeReplace, "Freezer,scientific,168,500\n")
	second.job.LabID = first.job.LabID
	if err := s.importer(second, labs{}).Process(ctx, second.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if got := s.count(t, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", first.job.LabID); got != 1 {
		t.Fatalf("%d activities after the replace, want 1", got)
	}
	var kWh float64 = 168 * 500 * 52 / 1000
	var kg, stored float64
	if err := s.pool.QueryRow(ctx, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", first.job.LabID).Scan(&kg); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT sum(kg_co2e) FROM calc.emissions WHERE lab_id = $1 AND variant = ''", first.job.LabID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if kg <= 0 || fmt.Sprintf("%.6f", kg) != fmt.Sprintf("%.6f", stored) {
		t.Fatalf("the totals say %v kg, the emissions of the %v kWh left %v", kg, kWh, stored)
	}
}

// A job cancelled while it runs ends in ERROR and writes nothing; a job
// that cannot be claimed is dropped; a passing fault hands the job back,
// counting the attempt, and writes nothing.
func TestAnImportThatCannotFinishWritesNothing(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()

	cancelled := newJob("append", "Freezer,scientific,168,350\n")
	cancelled.cancelled = true
	if err := s.importer(cancelled, labs{}).Process(ctx, cancelled.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if len(cancelled.finished) != 1 || cancelled.finished[0].Result != importbus.ResultError || cancelled.finished[0].StatusMessage != "cancelled; nothing was written" {
		t.Fatalf("cancelled: %+v", cancelled.finished)
	}

	taken := newJob("append", "Freezer,scientific,168,350\n")
	taken.claimable = false
	if err := s.importer(taken, labs{}).Process(ctx, taken.job.ID.String()); err != nil || len(taken.finished)+len(taken.released) != 0 {
		t.Fatalf("a job another worker holds: %v, %+v %+v", err, taken.finished, taken.released)
	}

	labsAway := newJob("append", "Freezer,scientific,168,350\n")
	away := labs{err: connect.NewError(connect.CodeUnavailable, errors.New("labs is restarting"))}
	if err := s.importer(labsAway, away).Process(ctx, labsAway.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if len(labsAway.finished) != 0 || len(labsAway.released) != 1 || !labsAway.released[0] {
		t.Fatalf("labs away: finished %+v, released %v; want handed back, the attempt counted", labsAway.finished, labsAway.released)
	}

	if n := s.count(t, "SELECT count(*) FROM calc.activities"); n != 0 {
		t.Fatalf("%d activities written", n)
	}
}

// An import whose year was closed while its job was queued ends ERROR,
// naming the year, and writes nothing; in an open year its rows are
// written pending.
func TestAnImportOfAClosedYearEndsInErrorAndImportedRowsArePending(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	years := yeardb.NewStore(s.pool)
	jobs := newJob("append", "Freezer,scientific,168,350\n")
	if _, err := years.SetYear(ctx, jobs.job.LabID, 2025, ledger.YearStateClosed, "manager"); err != nil {
		t.Fatal(err)
	}
	if err := s.importer(jobs, labs{}).Process(ctx, jobs.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if outcome := jobs.finished[0]; outcome.Result != importbus.ResultError || !strings.Contains(outcome.StatusMessage, "reporting year 2025") ||
		!strings.Contains(outcome.StatusMessage, "closed") {
		t.Fatalf("outcome: %+v", outcome)
	}
	if n := s.count(t, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", jobs.job.LabID); n != 0 {
		t.Fatalf("%d activities written into the closed year", n)
	}

	if _, err := years.SetYear(ctx, jobs.job.LabID, 2025, ledger.YearStateOpen, "admin"); err != nil {
		t.Fatal(err)
	}
	again := newJob("append", "Freezer,scientific,168,350\n", "Laptop,it,40,30\n")
	again.job.LabID = jobs.job.LabID
	if err := s.importer(again, labs{}).Process(ctx, again.job.ID.String()); err != nil {
		t.Fatal(err)
	}
	if outcome := again.finished[0]; outcome.Result != importbus.ResultSuccess {
		t.Fatalf("outcome after reopening: %+v", outcome)
	}
	if n := s.count(t, "SELECT count(*) FROM calc.activities WHERE import_id = $1 AND state = 'pending' AND state_by = ''", again.job.ID); n != 2 {
		t.Fatalf("%d imported rows pending, want 2", n)
	}
}
