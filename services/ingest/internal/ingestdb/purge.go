package ingestdb

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
)

func (s *Store) LockUploadTarget(ctx context.Context, labID uuid.UUID, kind string, year int32) error {
	return s.queries.LockUploadTarget(ctx, LockUploadTargetParams{LabID: labID.String(), Kind: kind, Year: year})
}

func (s *Store) FindDuplicateUpload(ctx context.Context, job ingestbus.Job, sha256 string) (ingestbus.Job, error) {
	row, err := s.queries.FindDuplicateUpload(ctx, FindDuplicateUploadParams{
		LabID: job.LabID, FileSha256: sha256, Kind: job.Kind, Year: job.Year, JobID: job.ID,
	})
	return ingestbus.Job{ID: row.ID, CreatedAt: row.CreatedAt}, translate(err)
}

// PurgeLab deletes the lab's jobs and its audit trail in one transaction.
func (s *Store) PurgeLab(ctx context.Context, labID uuid.UUID) (int64, error) {
	var jobs int64
	err := s.InTx(ctx, func(tx ingestbus.Store) error {
		in := tx.(*Store)
		var err error
		if jobs, err = in.queries.PurgeLab(ctx, labID); err != nil {
			return err
		}
		_, err = auditpg.PurgeLab(ctx, in.db, Schema, labID)
		return err
	})
	return jobs, err
}
