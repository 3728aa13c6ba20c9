// Package workerbus is the import jobs as calc's workers see them: a claim
// takes a lease, heartbeats keep it and carry progress, the file is read
// back, and the outcome is recorded, or the job handed back, only by the
// worker that holds it. Only calc's workers may call.
package workerbus

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Store is what the leases need of the jobs' store.
type Store interface {
	InTx(ctx context.Context, fn func(ingestbus.Store) error) error
	GetJob(ctx context.Context, id uuid.UUID) (ingestbus.Job, error)
	// ClaimJob returns ErrNotFound when the job cannot be claimed.
	ClaimJob(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) (ingestbus.Job, error)
	// Heartbeat returns ErrNotFound when the worker no longer holds the job.
	Heartbeat(ctx context.Context, id uuid.UUID, worker string, lease time.Duration, rowsProcessed int64) (cancelRequested bool, err error)
	ReadFileChunks(ctx context.Context, jobID uuid.UUID, afterSeq int32, limit int32) ([][]byte, []int32, error)
	// ReleaseJob returns the job's new state, or ErrNotFound when the
	// worker no longer holds the job.
	ReleaseJob(ctx context.Context, id uuid.UUID, worker, reason string, countAttempt bool, backoff time.Duration) (string, error)
}

// Leases hand import jobs to workers.
type Leases struct {
	store   Store
	cfg     ingestbus.Config
	metrics importMetrics
}

// New returns the leases over store, with the imports' configuration.
func New(store Store, cfg ingestbus.Config) *Leases {
	return &Leases{store: store, cfg: cfg, metrics: newImportMetrics()}
}

// Claim gives a queued job (or a running one whose lease ended) to worker.
func (l *Leases) Claim(ctx context.Context, id, worker string) (ingestbus.Job, error) {
	if err := requireService(ctx); err != nil {
		return ingestbus.Job{}, err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return ingestbus.Job{}, err
	}
	if worker == "" {
		return ingestbus.Job{}, apperr.Invalid("worker_id", "required")
	}
	job, err := l.store.ClaimJob(ctx, jobID, worker, l.cfg.Lease)
	if errors.Is(err, ingestbus.ErrNotFound) {
		return ingestbus.Job{}, apperr.FailedPrecondition("import %s cannot be claimed: it is not queued, another worker holds it, or it was cancelled", id)
	}
	return job, err
}

// Lease is how long a claim lasts without a heartbeat.
func (l *Leases) Lease() int64 { return int64(l.cfg.Lease.Seconds()) }

// Heartbeat extends worker's lease and records its progress; it says
// whether the job was cancelled.
func (l *Leases) Heartbeat(ctx context.Context, id, worker string, rowsProcessed int64) (bool, error) {
	if err := requireService(ctx); err != nil {
		return false, err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return false, err
	}
	cancelled, err := l.store.Heartbeat(ctx, jobID, worker, l.cfg.Lease, rowsProcessed)
	if errors.Is(err, ingestbus.ErrNotFound) {
		return false, lostLease(jobID, worker)
	}
	return cancelled, err
}

// ReadFile sends the job's file, chunk by chunk, to a worker holding it.
func (l *Leases) ReadFile(ctx context.Context, id, worker string, send func([]byte) error) error {
	if err := requireService(ctx); err != nil {
		return err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return err
	}
	job, err := l.store.GetJob(ctx, jobID)
	if err != nil || job.State != ingestbus.StateRunning || job.LockedBy != worker {
		return lostLease(jobID, worker)
	}
	var after int32
	for {
		chunks, seqs, err := l.store.ReadFileChunks(ctx, jobID, after, 8)
		if err != nil {
			return err
		}
		for _, chunk := range chunks {
			if err := send(chunk); err != nil {
				return err
			}
		}
		if len(chunks) < 8 {
			return nil
		}
		after = seqs[len(seqs)-1]
	}
}

// Finish records the outcome, if worker still holds the job.
func (l *Leases) Finish(ctx context.Context, id, worker string, outcome ingestbus.Outcome) error {
	if err := requireService(ctx); err != nil {
		return err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return err
	}
	switch outcome.Result {
	case ingestbus.ResultSuccess, ingestbus.ResultWarning, ingestbus.ResultError:
	default:
		return apperr.Invalid("result", "%q: want SUCCESS, WARNING or ERROR", outcome.Result)
	}
	if len(outcome.Errors) > l.cfg.ErrorsKept {
		outcome.Errors = outcome.Errors[:l.cfg.ErrorsKept]
	}
	var finished ingestbus.Job
	err = l.store.InTx(ctx, func(tx ingestbus.Store) error {
		before, err := tx.GetJob(ctx, jobID)
		if errors.Is(err, ingestbus.ErrNotFound) {
			return lostLease(jobID, worker)
		}
		if err != nil {
			return err
		}
		err = tx.FinishJob(ctx, jobID, worker, outcome)
		if errors.Is(err, ingestbus.ErrNotFound) {
			return lostLease(jobID, worker)
		}
		if err != nil {
			return err
		}
		if err := tx.ReplaceRowErrors(ctx, jobID, outcome.Errors); err != nil {
			return err
		}
		// One event for the whole import, its counts in after.
		after, err := tx.GetJob(ctx, jobID)
		if err != nil {
			return err
		}
		finished = after
		return tx.Record(ctx, audit.Event{
			LabID: after.LabID.String(), ResourceType: ingestbus.ResourceImport, ResourceID: jobID.String(),
			Action: audit.ActionFinish, Before: before, After: after,
		})
	})
	if err == nil {
		l.metrics.finished(ctx, finished, outcome)
	}
	return err
}

// maxReasonLength bounds the reason a worker gives.
const maxReasonLength = 1000

// Release hands a job back for another attempt, which the poller queues:
// at once when the attempt does not count (a worker shutting down), after
// IMPORT_RETRY_BACKOFF, doubled at each attempt, when it does (a fault
// that may take a while to pass). It returns the job's new state.
func (l *Leases) Release(ctx context.Context, id, worker, reason string, countAttempt bool) (string, error) {
	if err := requireService(ctx); err != nil {
		return "", err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return "", err
	}
	if reason == "" {
		return "", apperr.Invalid("reason", "required: why the job is handed back, as users will read it")
	}
	if len(reason) > maxReasonLength {
		reason = reason[:maxReasonLength]
	}
	state, err := l.store.ReleaseJob(ctx, jobID, worker, reason, countAttempt, l.cfg.RetryBackoff)
	if errors.Is(err, ingestbus.ErrNotFound) {
		return "", lostLease(jobID, worker)
	}
	return state, err
}

// requireService refuses callers other than calc's workers.
func requireService(ctx context.Context) error {
	return authz.RequireService(ctx, "calc")
}

func parseJobID(id string) (uuid.UUID, error) {
	jobID, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, apperr.Invalid("job_id", "%q is not a job id (a UUID)", id)
	}
	return jobID, nil
}

// lostLease is what a worker hears once the job is no longer its own.
func lostLease(id uuid.UUID, worker string) error {
	return apperr.FailedPrecondition("worker %s does not hold import %s (its lease expired, or the job finished or was cancelled)", worker, id)
}
