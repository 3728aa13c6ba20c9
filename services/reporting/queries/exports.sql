-- name: CreateExport :one
INSERT INTO reporting.exports (id, lab_id, year, include_sublabs, lab_ids, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: GetExport :one
SELECT * FROM reporting.exports WHERE id = $1 AND lab_id = $2;

-- name: StartExport :one
-- Claims a queued export (or one whose worker died while running) for a run.
UPDATE reporting.exports
SET status = 'running', started_at = now(), attempts = attempts + 1, error = ''
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING *;

-- name: DeleteExportChunks :exec
DELETE FROM reporting.export_chunks WHERE export_id = $1;

-- name: InsertExportChunk :exec
INSERT INTO reporting.export_chunks (export_id, seq, data) VALUES ($1, $2, $3);

-- name: FinishExport :exec
UPDATE reporting.exports
SET status = 'done', rows_written = $2, size_bytes = $3, finished_at = now()
WHERE id = $1;

-- name: FailExport :exec
UPDATE reporting.exports SET status = 'failed', error = $2, finished_at = now() WHERE id = $1;

-- name: GetExportChunk :one
SELECT data FROM reporting.export_chunks WHERE export_id = $1 AND seq = $2;


-- name: ListStaleQueuedExports :many
-- Exports still queued a while after they were made: their task may be lost.
SELECT id FROM reporting.exports
WHERE status = 'queued' AND created_at < now() - make_interval(secs => @older_than_seconds::float8)
ORDER BY created_at
LIMIT 100;
