-- name: MarkFilesSwept :many
-- Finished jobs whose file has been kept longer than the retention, oldest
-- first, marked as swept.
UPDATE ingest.data_ingestion_jobs SET file_swept_at = now()
WHERE id IN (
    SELECT id FROM ingest.data_ingestion_jobs
    WHERE state = 'FINISHED' AND file_swept_at IS NULL
      AND finished_at < now() - make_interval(secs => sqlc.arg('retention_seconds')::float8)
    ORDER BY finished_at
    LIMIT sqlc.arg('batch')
    FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: DeleteFilesOf :execrows
DELETE FROM ingest.import_file_chunks WHERE job_id = ANY(sqlc.arg('job_ids')::uuid[]);
