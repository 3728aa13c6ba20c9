-- The files of finished imports are deleted once IMPORT_FILE_RETENTION has
-- passed; the job, its counts and its row errors stay. file_swept_at says
-- when the file went, so a retry can say why it is refused.

-- +goose Up
ALTER TABLE ingest.data_ingestion_jobs ADD COLUMN file_swept_at timestamptz;
-- The sweep's question: finished jobs whose file is still kept, oldest first.
CREATE INDEX jobs_file_kept_idx ON ingest.data_ingestion_jobs (finished_at)
    WHERE state = 'FINISHED' AND file_swept_at IS NULL;

-- +goose Down
DROP INDEX ingest.jobs_file_kept_idx;
ALTER TABLE ingest.data_ingestion_jobs DROP COLUMN file_swept_at;
