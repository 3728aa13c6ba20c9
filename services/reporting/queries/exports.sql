-- name: CreateExport :one
INSERT INTO reporting.exports (id, lab_id, year, include_sublabs, lab_ids, max_attempts, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetExport :one
SELECT * FROM reporting.exports WHERE id = $1 AND lab_id = $2;

-- name: ClaimExport :one
-- Takes a queued export, or a running one whose lease ended, for worker,
-- and counts an attempt.
UPDATE reporting.exports
SET status = 'running', locked_by = sqlc.arg('worker'),
    locked_until = now() + make_interval(secs => sqlc.arg('lease_seconds')::float8),
    attempts = attempts + 1, started_at = now(), updated_at = now()
WHERE id = sqlc.arg('id')
  AND attempts < max_attempts
  AND (status = 'queued' OR (status = 'running' AND locked_until < now()))
RETURNING *;

-- name: RenewExportLease :execrows
UPDATE reporting.exports
SET locked_until = now() + make_interval(secs => sqlc.arg('lease_seconds')::float8), updated_at = now()
WHERE id = sqlc.arg('id') AND status = 'running' AND locked_by = sqlc.arg('worker');

-- name: DeleteExportChunks :exec
DELETE FROM reporting.export_chunks WHERE export_id = $1;

-- name: InsertExportChunk :exec
INSERT INTO reporting.export_chunks (export_id, seq, data) VALUES ($1, $2, $3);

-- name: FinishExport :execrows
UPDATE reporting.exports
SET status = 'done', rows_written = sqlc.arg('rows_written'), size_bytes = sqlc.arg('size_bytes'), error = '',
    locked_by = '', locked_until = NULL, finished_at = now(), updated_at = now()
WHERE id = sqlc.arg('id') AND status = 'running' AND locked_by = sqlc.arg('worker');

-- name: ReleaseExport :execrows
-- A failed attempt with attempts left: back to the queue, saying why.
UPDATE reporting.exports
SET status = 'queued', error = sqlc.arg('message'), locked_by = '', locked_until = NULL, updated_at = now()
WHERE id = sqlc.arg('id') AND status = 'running' AND locked_by = sqlc.arg('worker');

-- name: FailExport :execrows
UPDATE reporting.exports
SET status = 'failed', error = sqlc.arg('message'), locked_by = '', locked_until = NULL, finished_at = now(), updated_at = now()
WHERE id = sqlc.arg('id') AND status = 'running' AND locked_by = sqlc.arg('worker');

-- name: GetExportChunk :one
SELECT data FROM reporting.export_chunks WHERE export_id = $1 AND seq = $2;

-- name: QueuedExportsDue :many
-- Queued exports not queued again for longer than the grace period: their
-- task may be lost.
SELECT id, attempts FROM reporting.exports
WHERE status = 'queued' AND updated_at < now() - make_interval(secs => sqlc.arg('grace_seconds')::float8)
ORDER BY updated_at
LIMIT sqlc.arg('batch')
FOR UPDATE SKIP LOCKED;

-- name: TouchQueuedExports :exec
UPDATE reporting.exports SET updated_at = now() WHERE id = ANY(sqlc.arg('ids')::uuid[]);

-- name: ExpiredExportLeases :many
SELECT id, attempts, max_attempts, locked_by FROM reporting.exports
WHERE status = 'running' AND locked_until < now()
ORDER BY locked_until
LIMIT sqlc.arg('batch')
FOR UPDATE SKIP LOCKED;

-- name: RequeueExpiredExport :exec
UPDATE reporting.exports
SET status = 'queued', error = sqlc.arg('message'), locked_by = '', locked_until = NULL, updated_at = now()
WHERE id = sqlc.arg('id');

-- name: FailExpiredExport :exec
UPDATE reporting.exports
SET status = 'failed', error = sqlc.arg('message'), locked_by = '', locked_until = NULL, finished_at = now(), updated_at = now()
WHERE id = sqlc.arg('id');

-- name: GetExportStatus :one
SELECT status, size_bytes FROM reporting.exports WHERE id = $1;

-- name: ExpireExports :many
-- Done exports finished longer than the retention ago, oldest first,
-- marked expired (their ZIP is deleted in the same transaction).
UPDATE reporting.exports SET status = 'expired', updated_at = now()
WHERE id IN (
    SELECT id FROM reporting.exports
    WHERE status = 'done' AND finished_at < now() - make_interval(secs => sqlc.arg('retention_seconds')::float8)
    ORDER BY finished_at
    LIMIT sqlc.arg('batch')
    FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: DeleteExportChunksOf :exec
DELETE FROM reporting.export_chunks WHERE export_id = ANY(sqlc.arg('export_ids')::uuid[]);
