package ingestbus

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// DuplicateStore finds an earlier import of the same file.
type DuplicateStore interface {
	// LockUploadTarget serialises, until the transaction ends, the
	// completion of uploads into one lab, kind and year.
	LockUploadTarget(ctx context.Context, labID uuid.UUID, kind string, year int32) error
	// FindDuplicateUpload returns the latest import other than job whose
	// file has sha256, into job's lab, kind and year, that counts as
	// imported (its file arrived, and it did not end in ERROR); ErrNotFound
	// when there is none.
	FindDuplicateUpload(ctx context.Context, job Job, sha256 string) (Job, error)
}

// completeUpload queues a job whose file has arrived whole, unless the
// same file was imported already into the same lab, kind and year and the
// client did not ask to import it again: then it refuses, naming the
// earlier import, and the caller discards what was stored. The sha256 is
// only known now, so this is where the check can be; the transaction is
// short (a lock, a lookup by index, an update).
func (b *Business) completeUpload(ctx context.Context, job Job, size int64, sha256 string, allowDuplicate bool) error {
	return b.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockUploadTarget(ctx, job.LabID, job.Kind, job.Year); err != nil {
			return err
		}
		if !allowDuplicate {
			earlier, err := tx.FindDuplicateUpload(ctx, job, sha256)
			switch {
			case err == nil:
				return duplicateError(job, earlier)
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		if err := tx.QueueUploadedJob(ctx, job.ID, size, sha256); err != nil {
			return err
		}
		// The import exists for its users once queued: it is recorded then.
		queued, err := tx.GetJob(ctx, job.ID)
		if err != nil {
			return err
		}
		return tx.Record(ctx, importEvent(audit.ActionCreate, nil, queued))
	})
}

func duplicateError(job Job, earlier Job) error {
	return apperr.AlreadyExists("this file was imported already for kind %s and year %d of this lab: import %s of %s; "+
		"nothing was stored. To import it again, repeat the upload with allow_duplicate=true",
		job.Kind, job.Year, earlier.ID, earlier.CreatedAt.UTC().Format(time.RFC3339))
}
