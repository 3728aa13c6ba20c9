package ingestbus

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
)

// JobPage is a page of a lab's jobs, newest first.
type JobPage struct {
	Jobs          []Job
	NextPageToken string
}

// List returns a page of a lab's imports, newest first.
func (b *Business) List(ctx context.Context, labID string, pageSize int32, pageToken string) (JobPage, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return JobPage{}, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return JobPage{}, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	if err := access.Require(id.String(), authz.View, apperr.NotFound("no lab has id %s", labID)); err != nil {
		return JobPage{}, err
	}
	size, err := pagetoken.Size(pageSize)
	if err != nil {
		return JobPage{}, err
	}
	var cursor JobCursor
	found, err := pagetoken.Decode(pageToken, "imports:"+labID, &cursor)
	if err != nil {
		return JobPage{}, err
	}
	var before *JobCursor
	if found {
		before = &cursor
	}
	jobs, err := b.store.ListJobs(ctx, id, before, size+1)
	if err != nil {
		return JobPage{}, err
	}
	page := JobPage{Jobs: jobs}
	if int32(len(jobs)) > size {
		page.Jobs = jobs[:size]
		last := page.Jobs[size-1]
		page.NextPageToken, err = pagetoken.Encode(JobCursor{CreatedAt: last.CreatedAt, ID: last.ID}, "imports:"+labID)
	}
	return page, err
}

// ErrorPage is a page of a job's rejected rows.
type ErrorPage struct {
	Errors        []RowError
	NextPageToken string
	RowsRejected  int64
}

type errorCursor struct {
	Seq int32 `json:"s"`
}

// ListErrors returns a page of the rejected rows kept for a job.
func (b *Business) ListErrors(ctx context.Context, id string, pageSize int32, pageToken string) (ErrorPage, error) {
	job, _, err := b.authorizedJob(ctx, id, authz.View)
	if err != nil {
		return ErrorPage{}, err
	}
	size, err := pagetoken.Size(pageSize)
	if err != nil {
		return ErrorPage{}, err
	}
	var cursor errorCursor
	if _, err := pagetoken.Decode(pageToken, "errors:"+id, &cursor); err != nil {
		return ErrorPage{}, err
	}
	rowErrors, seqs, err := b.store.ListRowErrors(ctx, job.ID, cursor.Seq, size+1)
	if err != nil {
		return ErrorPage{}, err
	}
	page := ErrorPage{Errors: rowErrors, RowsRejected: job.RowsRejected}
	if int32(len(rowErrors)) > size {
		page.Errors = rowErrors[:size]
		page.NextPageToken, err = pagetoken.Encode(errorCursor{Seq: seqs[size-1]}, "errors:"+id)
	}
	return page, err
}

// Cancel stops a job: at once when it has not started, at the worker's next
// heartbeat when it runs.
func (b *Business) Cancel(ctx context.Context, id string) (Job, error) {
	job, access, err := b.authorizedJob(ctx, id, authz.Import)
	if err != nil {
		return Job{}, err
	}
	var cancelled Job
	err = b.store.InTx(ctx, func(tx Store) error {
		cancelled, err = tx.CancelJob(ctx, job.ID, "cancelled by "+access.Principal().Subject)
		if err != nil {
			return err
		}
		return tx.Record(ctx, importEvent(audit.ActionCancel, &job, cancelled))
	})
	if errors.Is(err, ErrNotFound) {
		return Job{}, apperr.FailedPrecondition("import %s has finished already (%s)", id, job.Result)
	}
	if err == nil && cancelled.State == StateFinished {
		// No worker had it: it ends here (a running one ends by its worker).
		ImportEnded(ctx, b.imports, cancelled.Kind, cancelled.Result, EndedByCancel)
	}
	return cancelled, err
}

// Retry runs a finished job again from its stored file.
func (b *Business) Retry(ctx context.Context, id string) (Job, error) {
	job, _, err := b.authorizedJob(ctx, id, authz.Import)
	if err != nil {
		return Job{}, err
	}
	if err := b.fileNotKept(job); err != nil {
		return Job{}, err
	}
	var retried Job
	err = b.store.InTx(ctx, func(tx Store) error {
		retried, err = tx.RetryJob(ctx, job.ID)
		if err != nil {
			return err
		}
		return tx.Record(ctx, importEvent(audit.ActionRetry, &job, retried))
	})
	if errors.Is(err, ErrNotFound) {
		// The file may have been swept meanwhile.
		if now, getErr := b.store.GetJob(ctx, job.ID); getErr == nil {
			if err := b.fileNotKept(now); err != nil {
				return Job{}, err
			}
		}
		return Job{}, apperr.FailedPrecondition("import %s is %s: only a finished import can be retried", id, job.State)
	}
	if err != nil {
		return Job{}, err
	}
	if err := b.queue.Enqueue(ctx, job.ID, 0); err != nil {
		b.logger.WarnContext(ctx, "enqueue failed; the poller will queue the job", "job", job.ID, "error", err)
	}
	return retried, nil
}
