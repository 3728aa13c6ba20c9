-- name: CreateLab :one
INSERT INTO labs.labs (code, name, description, parent_id, country)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: GetLab :one
SELECT * FROM labs.labs WHERE id = $1;

-- name: GetLabForUpdate :one
SELECT * FROM labs.labs WHERE id = $1 FOR UPDATE;

-- name: ListLabs :many
-- A page of labs in code order, after the given code (keyset pagination).
SELECT * FROM labs.labs
WHERE (sqlc.narg('parent_id')::uuid IS NULL OR parent_id = sqlc.narg('parent_id'))
  AND (sqlc.narg('name_pattern')::text IS NULL OR name ILIKE sqlc.narg('name_pattern'))
  AND (sqlc.arg('include_archived')::boolean OR archived_at IS NULL)
  AND (sqlc.narg('after_code')::text IS NULL OR lower(code) > sqlc.narg('after_code'))
ORDER BY lower(code)
LIMIT sqlc.arg('page_limit');

-- name: UpdateLab :one
UPDATE labs.labs
SET code = $2, name = $3, description = $4, parent_id = $5, country = $6, updated_at = now()
WHERE id = $1
RETURNING *;

-- name: SetArchivedAt :one
UPDATE labs.labs
SET archived_at = sqlc.narg('archived_at'), updated_at = now()
WHERE id = sqlc.arg('id')
RETURNING *;

-- name: DeleteLab :execrows
DELETE FROM labs.labs WHERE id = $1;

-- name: CountSubLabs :one
SELECT count(*) FILTER (WHERE archived_at IS NULL) AS active, count(*) AS total
FROM labs.labs
WHERE parent_id = $1;

-- name: IsInSubtree :one
-- Whether candidate is root itself or one of its descendants.
WITH RECURSIVE subtree AS (
    SELECT l.id FROM labs.labs l WHERE l.id = sqlc.arg('root')::uuid
    UNION
    SELECT child.id FROM labs.labs child JOIN subtree ON child.parent_id = subtree.id
)
SELECT EXISTS (SELECT 1 FROM subtree WHERE subtree.id = sqlc.arg('candidate')::uuid);

-- name: LockHierarchy :exec
-- Serialises changes of parent so two concurrent moves cannot make a cycle.
SELECT pg_advisory_xact_lock(hashtext('labs.hierarchy'));
