-- An upload whose file equals an earlier import's of the same lab, kind and
-- year is refused unless asked for again (ADR 020): the check looks the
-- file's sha256 up when the upload completes. A lab's imports are purged by
-- lab_id (jobs_lab_idx).

-- +goose Up
CREATE INDEX jobs_file_sha256_idx ON ingest.data_ingestion_jobs (lab_id, file_sha256)
    WHERE file_sha256 <> '';

-- +goose Down
DROP INDEX ingest.jobs_file_sha256_idx;
