package importbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/csvfile"
	"github.com/co2-calculator/co2-calculator/services/platform/faults"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
)

// Importer processes import jobs.
type Importer struct {
	logger  *slog.Logger
	store   Store
	jobs    Jobs
	labs    Labs
	factors *factorbus.Cache
	worker  string
	cfg     Config
}

// NewImporter returns an importer identified as worker.
func NewImporter(logger *slog.Logger, store Store, jobs Jobs, labs Labs, factorCache *factorbus.Cache, worker string, cfg Config) *Importer {
	return &Importer{logger: logger, store: store, jobs: jobs, labs: labs, factors: factorCache, worker: worker, cfg: cfg}
}

// Process runs one job to its end. It returns an error only when the job
// could not even be claimed for a reason worth retrying; everything else is
// reported on the job itself:
//   - a passing fault of the infrastructure (PostgreSQL restarting, ingest
//     or labs briefly away) hands the job back for another attempt, which
//     counts: the job fails once none remains;
//   - a shutdown hands it back without counting the attempt;
//   - anything else (a factor missing, a file that cannot be read) ends the
//     job as ERROR.
//
// Nothing of a handed-back attempt is written: its transaction never
// committed.
func (im *Importer) Process(ctx context.Context, jobID string) error {
	job, lease, err := im.jobs.Claim(ctx, jobID, im.worker)
	if errors.Is(err, ErrNotClaimable) {
		im.logger.InfoContext(ctx, "job not claimable; dropping the task", "job", jobID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim %s: %w", jobID, err)
	}
	log := im.logger.With("job", jobID, "kind", job.Kind, "lab", job.LabID)
	log.InfoContext(ctx, "import started")

	work, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var processed atomic.Int64
	go im.keepLease(work, stop, jobID, lease, &processed)

	outcome, err := im.run(work, job, &processed)
	if err != nil {
		// A failed run may have been stopped on purpose: say why.
		if cause := context.Cause(work); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
	}
	// The job's calls to ingest outlive a shutdown's cancellation.
	finishing := context.WithoutCancel(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		log.WarnContext(ctx, "stopped by shutdown; the job is handed back")
		im.release(finishing, log, jobID, "the worker was shut down mid-way; queued again (this attempt does not count)", false)
		return nil
	case errors.Is(err, ErrLeaseLost):
		log.WarnContext(ctx, "lease lost: another worker has the job; nothing written")
		return nil
	case errors.Is(err, errCancelled):
		outcome = Outcome{Result: ResultError, StatusMessage: "cancelled; nothing was written"}
	case faults.Transient(err):
		log.WarnContext(ctx, "import interrupted by a passing fault; the job is handed back", "error", err)
		im.release(finishing, log, jobID, "interrupted by a passing fault of the system ("+errorSummary(err)+"); nothing was written, queued again", true)
		return nil
	case err != nil:
		log.ErrorContext(ctx, "import failed", "error", err)
		outcome = Outcome{Result: ResultError, StatusMessage: err.Error()}
	}
	if err := im.jobs.Finish(finishing, jobID, im.worker, outcome); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			log.WarnContext(ctx, "finished, but the lease was lost meanwhile: the next worker finds the import applied")
			return nil
		}
		return fmt.Errorf("finish %s: %w", jobID, err)
	}
	log.InfoContext(ctx, "import finished", "result", outcome.Result, "rows_ok", outcome.RowsOK, "rows_rejected", outcome.RowsRejected)
	// Statistics that predate a large import make the planner take the
	// lab's rows for a handful: the next replace of them, or a listing,
	// would go by a plan made for a few rows. Autovacuum analyzes in its
	// own time, or never where it is off; the import does not wait for it,
	// and a worker shutting down skips it.
	if im.cfg.AnalyzeAfterRows > 0 && outcome.RowsOK >= im.cfg.AnalyzeAfterRows {
		started := time.Now()
		if err := im.store.Analyze(ctx); err != nil {
			log.WarnContext(ctx, "the statistics could not be refreshed after the import", "error", err)
		} else {
			log.InfoContext(ctx, "statistics refreshed", "took", time.Since(started).String())
		}
	}
	return nil
}

// release hands the job back; when ingest cannot be told, the lease
// expires and the poller retries the job all the same.
func (im *Importer) release(ctx context.Context, log *slog.Logger, jobID, reason string, countAttempt bool) {
	if err := im.jobs.Release(ctx, jobID, im.worker, reason, countAttempt); err != nil && !errors.Is(err, ErrLeaseLost) {
		log.WarnContext(ctx, "the job could not be handed back; its lease will expire", "error", err)
	}
}

// errorSummary is what users read of a passing fault: its last words,
// without the internals wrapped around them.
func errorSummary(err error) string {
	message := err.Error()
	if i := strings.LastIndex(message, ": "); i >= 0 && len(message)-i > 8 {
		message = message[i+2:]
	}
	if len(message) > 200 {
		message = message[:200]
	}
	return message
}

// keepLease reports progress to ingest every ProgressInterval while the
// rows move, and heartbeats at least a third of the lease apart when they
// do not; it stops the work when the lease is lost or the job cancelled.
func (im *Importer) keepLease(ctx context.Context, stop context.CancelCauseFunc, jobID string, lease time.Duration, processed *atomic.Int64) {
	heartbeatEvery := max(lease/3, 100*time.Millisecond)
	tick := heartbeatEvery
	if im.cfg.ProgressInterval > 0 {
		tick = min(im.cfg.ProgressInterval, heartbeatEvery)
	}
	reported := int64(-1)
	var lastBeat time.Time
	process.Every(ctx, tick, false, func(ctx context.Context) {
		rows := processed.Load()
		if rows == reported && time.Since(lastBeat) < heartbeatEvery-tick/2 {
			return
		}
		cancelled, err := im.jobs.Heartbeat(ctx, jobID, im.worker, rows)
		switch {
		case errors.Is(err, ErrLeaseLost):
			stop(ErrLeaseLost) // ends ctx, and so the heartbeats
		case err != nil:
			im.logger.WarnContext(ctx, "heartbeat failed; retrying", "job", jobID, "error", err)
		case cancelled:
			stop(errCancelled)
		default:
			reported, lastBeat = rows, time.Now()
		}
	})
}

func (im *Importer) run(ctx context.Context, job Job, processed *atomic.Int64) (Outcome, error) {
	kind, ok := catalog.Lookup(job.Kind)
	if !ok {
		return Outcome{}, fmt.Errorf("unknown kind %q", job.Kind)
	}
	// Asked before the transaction opens: a labs outage must not hold a
	// connection and the target's lock.
	country, err := im.labs.Country(ctx, job.LabID)
	if err != nil {
		return Outcome{}, fmt.Errorf("lab %s: %w", job.LabID, err)
	}

	var rowErrors []RowError
	applied, counts, err := im.store.ApplyImport(ctx, job, func(tx Tx) (Counts, error) {
		file, err := im.jobs.ReadFile(ctx, job.ID.String(), im.worker)
		if err != nil {
			return Counts{}, err
		}
		defer file.Close()
		// A closed year takes no import; one closed while this job was
		// queued ends it here, nothing written. Held until the commit: a
		// close waits for this import to end.
		open, err := tx.ShareYear(ctx, job.LabID, job.Year)
		if err != nil {
			return Counts{}, err
		}
		if !open {
			return Counts{}, ledger.YearClosed(job.LabID, job.Year)
		}
		// One import of a lab/year/kind at a time: a replace must not
		// delete what another import is writing.
		if err := tx.LockTarget(ctx, job.LabID, job.Year, kind.Name); err != nil {
			return Counts{}, err
		}
		// The factors are read under the lock: a recalculation of the
		// target (after an activation) comes wholly before or after.
		env, _, err := im.factors.Env(ctx, tx, country, job.LabID, job.Year)
		if err != nil {
			return Counts{}, err
		}
		// The module's totals lose what a replace removes and gain what
		// this import adds, summed as it streams in.
		var removed ledger.RollupSums
		var removedActivities int64
		if job.Mode == ModeReplace {
			if removed, removedActivities, err = tx.DeleteCSVRows(ctx, job.LabID, job.Year, kind.Name); err != nil {
				return Counts{}, err
			}
		}
		added := ledger.RollupSums{}
		counts, written, err := im.write(ctx, tx, job, kind, env, file, processed, added)
		if err != nil {
			return Counts{}, err
		}
		if err := tx.ApplyRollups(ctx, job.LabID,
			ledger.RollupDelta{Year: job.Year, Module: kind.Module, Sums: removed, Sign: -1, Kind: kind.Name, Source: ledger.SourceCSV, Activities: removedActivities},
			ledger.RollupDelta{Year: job.Year, Module: kind.Module, Sums: added, Sign: 1, Kind: kind.Name, Source: ledger.SourceCSV, Activities: counts.OK}); err != nil {
			return Counts{}, err
		}

		// Last check before commit: still ours, not cancelled.
		cancelled, err := im.jobs.Heartbeat(ctx, job.ID.String(), im.worker, counts.Total)
		if err != nil {
			return Counts{}, err
		}
		if cancelled {
			return Counts{}, errCancelled
		}
		rowErrors = written
		return counts, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	outcome := outcomeOf(counts)
	if !applied {
		outcome.StatusMessage += " (written by an earlier attempt)"
		return outcome, nil
	}
	outcome.Errors = rowErrors
	return outcome, nil
}

// missingFactorMessage says which factor a row needs and which regions
// the factors in force have it for.
func missingFactorMessage(missing *kinds.MissingFactorError, env kinds.Env) string {
	message := fmt.Sprintf("%v in the factors in force for %d", missing, env.Year)
	if regions := env.Factors.Regions(missing.Key); len(regions) > 0 {
		message += fmt.Sprintf(" (they have it for %s)", kinds.RegionList(regions))
	}
	return message + ": an admin can upload and activate a factor dataset that has it (docs/modules.md, Factors)"
}

// outcomeOf is the result of an import that wrote counts.
func outcomeOf(counts Counts) Outcome {
	outcome := Outcome{RowsTotal: counts.Total, RowsOK: counts.OK, RowsRejected: counts.Rejected}
	switch {
	case counts.Total == 0:
		outcome.Result, outcome.StatusMessage = ResultSuccess, "the file has no data rows"
	case counts.Rejected == 0:
		outcome.Result, outcome.StatusMessage = ResultSuccess, fmt.Sprintf("%d rows imported", counts.OK)
	case counts.OK == 0:
		outcome.Result, outcome.StatusMessage = ResultError, fmt.Sprintf("all %d rows rejected; see the errors", counts.Rejected)
	default:
		outcome.Result, outcome.StatusMessage = ResultWarning, fmt.Sprintf("%d rows imported, %d rejected; see the errors", counts.OK, counts.Rejected)
	}
	return outcome
}

// write streams the file's rows into activities, spooling their emissions
// to a temporary file, then streams the emissions in: memory stays flat
// whatever the file's size.
func (im *Importer) write(ctx context.Context, tx Tx, job Job, kind *kinds.Kind, env kinds.Env, file io.Reader, processed *atomic.Int64, sums ledger.RollupSums) (Counts, []RowError, error) {
	reader, err := csvfile.NewReader(file)
	if err != nil {
		return Counts{}, nil, fmt.Errorf("the file cannot be read: %w", err)
	}
	if missing := reader.Header().Missing(kind.Required()); len(missing) > 0 {
		return Counts{}, nil, fmt.Errorf("the header lacks the required column(s) %v", missing)
	}
	spool, err := newEmissionSpool(im.cfg.TempDir)
	if err != nil {
		return Counts{}, nil, err
	}
	defer spool.Close()

	var counts Counts
	var rowErrors []RowError
	reject := func(line int64, column, message string) {
		counts.Rejected++
		if len(rowErrors) < im.cfg.ErrorsKept {
			rowErrors = append(rowErrors, RowError{Row: line, Column: column, Message: message})
		}
	}
	columns := kinds.Lower(reader.Header().Columns)
	values := make(kinds.Row, len(columns))
	importID := job.ID
	var inputs []byte
	var emission ledger.Emission
	nextActivity := func() (*ledger.Activity, error) {
		for {
			record, err := reader.Next()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			counts.Total++
			processed.Store(counts.Total)
			if record.Err != nil {
				reject(record.Line, "", record.Err.Error())
				continue
			}
			activity, err := kind.Compute(values.Fill(columns, record.Fields), env)
			var fieldErr *kinds.FieldError
			var missingFactor *kinds.MissingFactorError
			switch {
			case errors.As(err, &fieldErr):
				reject(record.Line, fieldErr.Column, fieldErr.Message)
				continue
			case errors.As(err, &missingFactor):
				// The row cannot be computed with the factors in force (a
				// lab's country without a grid factor, say): refused with
				// the region and key, the file's other rows still taken.
				reject(record.Line, "", missingFactorMessage(missingFactor, env))
				continue
			case err != nil:
				return nil, err
			}
			counts.OK++
			id := uuid.Must(uuid.NewV7())
			for position, computed := range activity.Emissions {
				emission = ledger.EmissionOf(id, job.LabID, job.Year, kind.Module, computed)
				if err := spool.add(position, &emission, sums); err != nil {
					return nil, err
				}
			}
			inputs = ledger.AppendInputs(inputs[:0], activity.Inputs)
			line := record.Line
			return &ledger.Activity{
				ID: id, LabID: job.LabID, Year: job.Year, Module: kind.Module, Kind: kind.Name,
				Source: ledger.SourceCSV, ImportID: &importID, RowNo: &line, Inputs: inputs,
			}, nil
		}
	}
	started := time.Now()
	if _, err := tx.CopyActivities(ctx, nextActivity); err != nil {
		return Counts{}, nil, err
	}
	activitiesTook := time.Since(started)
	processed.Store(counts.Total)
	if err := spool.rewind(); err != nil {
		return Counts{}, nil, err
	}
	var row ledger.Emission
	nextEmission := func() (*ledger.Emission, error) {
		if err := spool.next(&row); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
		row.LabID, row.Year, row.Module = job.LabID, job.Year, kind.Module
		return &row, nil
	}
	started = time.Now()
	if _, err := tx.CopyEmissions(ctx, nextEmission); err != nil {
		return Counts{}, nil, err
	}
	im.logger.InfoContext(ctx, "rows written", "job", job.ID, "rows", counts.Total,
		"parse_compute_copy_activities", activitiesTook.String(), "copy_emissions", time.Since(started).String())
	return counts, rowErrors, nil
}
