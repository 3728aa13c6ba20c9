-- The trace of the request that made a job (a W3C traceparent, '' outside
-- any): the safety net, queueing the job again in a trace of its own, links
-- it to that request's.

-- +goose Up
ALTER TABLE ingest.data_ingestion_jobs ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE ingest.data_ingestion_jobs DROP COLUMN trace_parent;
