-- name: CreateJob :exec
-- A job is NOT_STARTED while its file arrives.
INSERT INTO ingest.data_ingestion_jobs (id, lab_id, year, kind, module, mode, state, status_message, filename, max_attempts, created_by, trace_parent)
VALUES ($1, $2, $3, $4, $5, $6, 'NOT_STARTED', 'receiving the file', $7, $8, $9, $10);

-- name: AddFileChunk :execrows
-- Stores a piece of a file still arriving (none once the job was cancelled
-- or given up), and marks the upload alive.
WITH receiving AS (
    UPDATE ingest.data_ingestion_jobs SET updated_at = now()
    WHERE id = sqlc.arg('job_id') AND state = 'NOT_STARTED'
    RETURNING id
)
INSERT INTO ingest.import_file_chunks (job_id, seq, data)
SELECT id, sqlc.arg('seq'), sqlc.arg('data') FROM receiving;

-- name: QueueUploadedJob :execrows
UPDATE ingest.data_ingestion_jobs
SET state = 'QUEUED', status_message = '', file_size = $2, file_sha256 = $3, run_after = now(), updated_at = now()
WHERE id = $1 AND state = 'NOT_STARTED';

-- name: DiscardUpload :exec
-- An upload that failed leaves nothing: the job while it was arriving, the
-- pieces of its file whatever became of it.
WITH job AS (
    DELETE FROM ingest.data_ingestion_jobs WHERE id = $1 AND state = 'NOT_STARTED'
)
DELETE FROM ingest.import_file_chunks WHERE job_id = $1;

-- name: DeleteStalledUploads :execrows
-- Uploads that stopped arriving without ending (the receiving process died).
DELETE FROM ingest.data_ingestion_jobs
WHERE id IN (
    SELECT id FROM ingest.data_ingestion_jobs
    WHERE state = 'NOT_STARTED' AND updated_at < now() - make_interval(secs => sqlc.arg('stalled_seconds')::float8)
    ORDER BY updated_at
    LIMIT sqlc.arg('batch')
    FOR UPDATE SKIP LOCKED
);

-- name: GetJob :one
SELECT * FROM ingest.data_ingestion_jobs WHERE id = $1;

-- name: ListJobs :many
SELECT * FROM ingest.data_ingestion_jobs
WHERE lab_id = sqlc.arg('lab_id')
  AND (sqlc.narg('before_created')::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg('before_created')::timestamptz, sqlc.narg('before_id')::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg('page_limit');

-- name: ListRowErrors :many
SELECT row_no, col, message, seq FROM ingest.import_row_errors
WHERE job_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3;

-- name: ClaimJob :one
-- Takes a queued job, or a running one whose lease ended, for worker.
UPDATE ingest.data_ingestion_jobs
SET state = 'RUNNING', locked_by = sqlc.arg('worker'), locked_until = now() + make_interval(secs => sqlc.arg('lease_seconds')::float8),
    heartbeat_at = now(), attempts = attempts + 1, started_at = coalesce(started_at, now()), updated_at = now()
WHERE id = sqlc.arg('id')
  AND NOT cancel_requested
  AND attempts < max_attempts
  AND (state = 'QUEUED' OR (state = 'RUNNING' AND locked_until < now()))
RETURNING *;

-- name: Heartbeat :one
UPDATE ingest.data_ingestion_jobs
SET locked_until = now() + make_interval(secs => sqlc.arg('lease_seconds')::float8), heartbeat_at = now(), updated_at = now(),
    rows_processed = greatest(rows_processed, sqlc.arg('rows_processed'))
WHERE id = sqlc.arg('id') AND state = 'RUNNING' AND locked_by = sqlc.arg('worker')
RETURNING cancel_requested;

-- name: FinishJob :execrows
UPDATE ingest.data_ingestion_jobs
SET state = 'FINISHED', result = sqlc.arg('result'), status_message = sqlc.arg('status_message'),
    rows_total = sqlc.arg('rows_total'), rows_ok = sqlc.arg('rows_ok'), rows_rejected = sqlc.arg('rows_rejected'),
    rows_processed = sqlc.arg('rows_total'), locked_by = '', locked_until = NULL, finished_at = now(), updated_at = now()
WHERE id = sqlc.arg('id') AND state = 'RUNNING' AND locked_by = sqlc.arg('worker');

-- name: ReleaseJob :one
-- The worker hands the job back: queued for another attempt (the one it
-- made not counted when count_attempt is false), or failed when it counts
-- and none remains.
UPDATE ingest.data_ingestion_jobs
SET attempts = CASE WHEN sqlc.arg('count_attempt')::boolean THEN attempts ELSE greatest(attempts - 1, 0) END,
    state = CASE WHEN sqlc.arg('count_attempt')::boolean AND attempts >= max_attempts THEN 'FINISHED' ELSE 'QUEUED' END,
    result = CASE WHEN sqlc.arg('count_attempt')::boolean AND attempts >= max_attempts THEN 'ERROR' ELSE '' END,
    status_message = CASE WHEN sqlc.arg('count_attempt')::boolean AND attempts >= max_attempts
        THEN 'gave up after ' || attempts || ' attempts: ' || sqlc.arg('reason')::text
        ELSE sqlc.arg('reason')::text END,
    finished_at = CASE WHEN sqlc.arg('count_attempt')::boolean AND attempts >= max_attempts THEN now() END,
    -- A counted attempt waits backoff, doubled at each attempt, for the
    -- fault to pass; an uncounted one may start again at once.
    run_after = CASE WHEN sqlc.arg('count_attempt')::boolean
        THEN now() + make_interval(secs => sqlc.arg('backoff_seconds')::float8 * power(2, greatest(attempts - 1, 0)))
        ELSE now() END,
    locked_by = '', locked_until = NULL, updated_at = now()
WHERE id = sqlc.arg('id') AND state = 'RUNNING' AND locked_by = sqlc.arg('worker')
RETURNING state, attempts;

-- name: DeleteRowErrors :exec
DELETE FROM ingest.import_row_errors WHERE job_id = $1;

-- name: AddRowErrors :copyfrom
INSERT INTO ingest.import_row_errors (job_id, seq, row_no, col, message) VALUES ($1, $2, $3, $4, $5);

-- name: ReadFileChunks :many
SELECT seq, data FROM ingest.import_file_chunks WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: CancelJob :one
-- A job not running yet finishes as cancelled; a running one is asked to stop.
UPDATE ingest.data_ingestion_jobs
SET cancel_requested = true,
    state = CASE WHEN state IN ('NOT_STARTED', 'QUEUED') THEN 'FINISHED' ELSE state END,
    result = CASE WHEN state IN ('NOT_STARTED', 'QUEUED') THEN 'ERROR' ELSE result END,
    status_message = CASE WHEN state IN ('NOT_STARTED', 'QUEUED') THEN sqlc.arg('message') ELSE status_message END,
    finished_at = CASE WHEN state IN ('NOT_STARTED', 'QUEUED') THEN now() ELSE finished_at END,
    updated_at = now()
WHERE id = sqlc.arg('id') AND state <> 'FINISHED'
RETURNING *;

-- name: RetryJob :one
UPDATE ingest.data_ingestion_jobs
SET state = 'QUEUED', result = '', status_message = '', cancel_requested = false,
    rows_total = 0, rows_ok = 0, rows_rejected = 0, rows_processed = 0,
    attempts = 0, run_after = now(), started_at = NULL, finished_at = NULL, updated_at = now()
WHERE id = $1 AND state = 'FINISHED' AND file_swept_at IS NULL
RETURNING *;

-- name: QueuedJobsDue :many
-- Queued jobs due (run_after passed) and waiting longer than the grace
-- period: their task may be lost, or was never queued (a job handed back).
SELECT id, attempts, trace_parent FROM ingest.data_ingestion_jobs
WHERE state = 'QUEUED' AND run_after <= now() AND updated_at < now() - make_interval(secs => sqlc.arg('grace_seconds')::float8)
ORDER BY run_after
LIMIT sqlc.arg('batch')
FOR UPDATE SKIP LOCKED;

-- name: TouchQueued :exec
UPDATE ingest.data_ingestion_jobs SET updated_at = now() WHERE id = ANY(sqlc.arg('ids')::uuid[]);

-- name: ExpiredLeases :many
SELECT id, kind, attempts, max_attempts, cancel_requested, locked_by, trace_parent FROM ingest.data_ingestion_jobs
WHERE state = 'RUNNING' AND locked_until < now()
ORDER BY locked_until
LIMIT sqlc.arg('batch')
FOR UPDATE SKIP LOCKED;

-- name: RequeueExpired :exec
UPDATE ingest.data_ingestion_jobs
SET state = 'QUEUED', locked_by = '', locked_until = NULL, run_after = now(), updated_at = now(),
    status_message = sqlc.arg('message')
WHERE id = sqlc.arg('id');

-- name: FailExpired :exec
UPDATE ingest.data_ingestion_jobs
SET state = 'FINISHED', result = 'ERROR', status_message = sqlc.arg('message'),
    locked_by = '', locked_until = NULL, finished_at = now(), updated_at = now()
WHERE id = sqlc.arg('id');

-- name: LockUploadTarget :exec
-- Serialises the completion of uploads into one lab, kind and year, so two
-- equal files finishing together cannot both pass the duplicate check.
SELECT pg_advisory_xact_lock(hashtext('ingest.upload:' || sqlc.arg('lab_id')::text || ':' || sqlc.arg('kind')::text || ':' || sqlc.arg('year')::int));

-- name: FindDuplicateUpload :one
-- The latest earlier import of the same file into the same lab, kind and
-- year that counts (ADR 020): its file has arrived, and it did not end in
-- ERROR (cancelled or failed imports wrote nothing).
SELECT id, created_at FROM ingest.data_ingestion_jobs
WHERE lab_id = sqlc.arg('lab_id') AND file_sha256 = sqlc.arg('file_sha256')
  AND kind = sqlc.arg('kind') AND year = sqlc.arg('year')
  AND id <> sqlc.arg('job_id')
  AND state <> 'NOT_STARTED'
  AND NOT (state = 'FINISHED' AND result = 'ERROR')
ORDER BY created_at DESC
LIMIT 1;

-- name: PurgeLab :execrows
-- Every job of a lab being purged, with its file chunks and row errors
-- (ON DELETE CASCADE).
DELETE FROM ingest.data_ingestion_jobs WHERE lab_id = $1;
