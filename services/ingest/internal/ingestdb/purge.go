package ingestdb

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
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

func (s *Store) PurgeLab(ctx context.Context, labID uuid.UUID) (int64, error) {
	return s.queries.PurgeLab(ctx, labID)
}
