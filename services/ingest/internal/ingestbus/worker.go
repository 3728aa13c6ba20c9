package ingestbus

import (
	"context"
	"errors"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Claim gives a queued job (or a running one whose lease ended) to worker.
func (b *Business) Claim(ctx context.Context, id, worker string) (Job, error) {
	if err := b.requireService(ctx); err != nil {
		return Job{}, err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return Job{}, err
	}
	if worker == "" {
		return Job{}, apperr.Invalid("worker_id", "required")
	}
	job, err := b.store.ClaimJob(ctx, jobID, worker, b.cfg.Lease)
	if errors.Is(err, ErrNotFound) {
		return Job{}, apperr.FailedPrecondition("import %s cannot be claimed: it is not queued, another worker holds it, or it was cancelled", id)
	}
	return job, err
}

// Lease is how long a claim lasts without a heartbeat.
func (b *Business) Lease() int64 { return int64(b.cfg.Lease.Seconds()) }

// Heartbeat extends worker's lease and records its progress; it says
// whether the job was cancelled.
func (b *Business) Heartbeat(ctx context.Context, id, worker string, rowsProcessed int64) (bool, error) {
	if err := b.requireService(ctx); err != nil {
		return false, err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return false, err
	}
	cancelled, err := b.store.Heartbeat(ctx, jobID, worker, b.cfg.Lease, rowsProcessed)
	if errors.Is(err, ErrNotFound) {
		return false, lostLease(jobID, worker)
	}
	return cancelled, err
}

// ReadFile sends the job's file, chunk by chunk, to a worker holding it.
func (b *Business) ReadFile(ctx context.Context, id, worker string, send func([]byte) error) error {
	if err := b.requireService(ctx); err != nil {
		return err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return err
	}
	job, err := b.store.GetJob(ctx, jobID)
	if err != nil || job.State != StateRunning || job.LockedBy != worker {
		return lostLease(jobID, worker)
	}
	var after int32
	for {
		chunks, seqs, err := b.store.ReadFileChunks(ctx, jobID, after, 8)
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

// Outcome is what a worker reports at the end of a job.
type Outcome struct {
	Result        string
	StatusMessage string
	RowsTotal     int64
	RowsOK        int64
	RowsRejected  int64
	// Errors are the first rejected rows; at most ErrorsKept are stored.
	Errors []RowError
}

// Finish records the outcome, if worker still holds the job.
func (b *Business) Finish(ctx context.Context, id, worker string, outcome Outcome) error {
	if err := b.requireService(ctx); err != nil {
		return err
	}
	jobID, err := parseJobID(id)
	if err != nil {
		return err
	}
	switch outcome.Result {
	case ResultSuccess, ResultWarning, ResultError:
	default:
		return apperr.Invalid("result", "%q: want SUCCESS, WARNING or ERROR", outcome.Result)
	}
	if len(outcome.Errors) > b.cfg.ErrorsKept {
		outcome.Errors = outcome.Errors[:b.cfg.ErrorsKept]
	}
	return b.store.InTx(ctx, func(tx Store) error {
		err := tx.FinishJob(ctx, jobID, worker, outcome)
		if errors.Is(err, ErrNotFound) {
			return lostLease(jobID, worker)
		}
		if err != nil {
			return err
		}
		return tx.ReplaceRowErrors(ctx, jobID, outcome.Errors)
	})
}

// maxReasonLength bounds the reason a worker gives.
const maxReasonLength = 1000

// Release hands a job back for another attempt; the poller queues it
// again after POLL_INTERVAL, which spaces attempts out while a fault
// passes. It returns the job's new state.
func (b *Business) Release(ctx context.Context, id, worker, reason string, countAttempt bool) (string, error) {
	if err := b.requireService(ctx); err != nil {
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
	state, err := b.store.ReleaseJob(ctx, jobID, worker, reason, countAttempt)
	if errors.Is(err, ErrNotFound) {
		return "", lostLease(jobID, worker)
	}
	return state, err
}
