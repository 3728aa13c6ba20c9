-- Files arrive with no transaction open: a job is NOT_STARTED while its file
-- is stored piece by piece, and the poller removes uploads whose pieces
-- stopped coming (a process that died mid-upload).

-- +goose Up
CREATE INDEX jobs_arriving_idx ON ingest.data_ingestion_jobs (updated_at) WHERE state = 'NOT_STARTED';

-- +goose Down
DROP INDEX ingest.jobs_arriving_idx;
