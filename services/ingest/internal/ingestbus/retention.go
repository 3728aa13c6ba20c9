package ingestbus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// RetentionConfig says how long the files of finished imports are kept.
type RetentionConfig struct {
	// FileRetention is how long a finished import's file is kept after it
	// finished; 0 keeps files forever. The job, its counts and its row
	// errors stay either way.
	FileRetention time.Duration `env:"IMPORT_FILE_RETENTION, default=720h"`
	// Batch is how many files one sweep deletes at most.
	Batch int32 `env:"RETENTION_BATCH, default=10"`
}

// RetentionStore deletes the files of finished imports.
type RetentionStore interface {
	// SweepFiles deletes the files of at most batch jobs finished longer
	// than olderThan ago, the oldest first, marks the jobs as swept and
	// returns their ids.
	SweepFiles(ctx context.Context, olderThan time.Duration, batch int32) ([]uuid.UUID, error)
}

// SweepFiles is one pass of the retention: the files of imports finished
// longer than IMPORT_FILE_RETENTION ago go, a batch at a time (safe with
// several ingest replicas: jobs are taken with SKIP LOCKED).
func (b *Business) SweepFiles(ctx context.Context) (int, error) {
	if b.cfg.Retention.FileRetention <= 0 {
		return 0, nil
	}
	swept, err := b.store.SweepFiles(ctx, b.cfg.Retention.FileRetention, b.cfg.Retention.Batch)
	if err != nil {
		return 0, fmt.Errorf("sweep import files: %w", err)
	}
	if len(swept) > 0 {
		b.logger.InfoContext(ctx, "files of finished imports deleted", "imports", len(swept),
			"retention", config.DurationText(b.cfg.Retention.FileRetention))
	}
	return len(swept), nil
}

// sweepFiles runs SweepFiles for the poller, logging a failure.
func (b *Business) sweepFiles(ctx context.Context) {
	if _, err := b.SweepFiles(ctx); err != nil && ctx.Err() == nil {
		b.logger.ErrorContext(ctx, "retention sweep failed", "error", err)
	}
}

// fileNotKept refuses to retry a job whose file was swept, or returns nil.
func (b *Business) fileNotKept(job Job) error {
	if job.FileSweptAt == nil {
		return nil
	}
	kept := "for the time IMPORT_FILE_RETENTION set then"
	if b.cfg.Retention.FileRetention > 0 {
		kept = config.DurationText(b.cfg.Retention.FileRetention) + " (IMPORT_FILE_RETENTION)"
	}
	return apperr.FailedPrecondition("import %s cannot be retried: its file is no longer kept (the file of a finished import is kept %s; this one was deleted on %s). Upload the file again",
		job.ID, kept, job.FileSweptAt.UTC().Format(time.DateOnly))
}
