-- name: CreateLab :one
INSERT INTO labs.labs (code, name, description, parent_id, country)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- A lab being purged (purging_at set) is gone for every query but the
-- purge's own (ADR 020).

-- name: GetLab :one
SELECT * FROM labs.labs WHERE id = $1 AND purging_at IS NULL;

-- name: GetLabForUpdate :one
SELECT * FROM labs.labs WHERE id = $1 AND purging_at IS NULL FOR UPDATE;

-- name: GetLabForPurge :one
-- The lab, being purged or not.
SELECT * FROM labs.labs WHERE id = $1 FOR UPDATE;

-- name: MarkPurging :exec
UPDATE labs.labs SET purging_at = coalesce(purging_at, now()), updated_at = now() WHERE id = $1;

-- name: ListLabs :many
-- A page of labs in code order, after the given code (keyset pagination).
SELECT * FROM labs.labs
WHERE purging_at IS NULL
  AND (sqlc.narg('parent_id')::uuid IS NULL OR parent_id = sqlc.narg('parent_id'))
  AND (sqlc.narg('name_pattern')::text IS NULL OR name ILIKE sqlc.narg('name_pattern'))
  AND (sqlc.arg('include_archived')::boolean OR archived_at IS NULL)
  AND (sqlc.narg('after_code')::text IS NULL OR lower(code) > sqlc.narg('after_code'))
  AND (sqlc.narg('lab_ids')::uuid[] IS NULL OR id = ANY(sqlc.narg('lab_ids')::uuid[]))
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

-- name: ListMembers :many
SELECT * FROM labs.memberships
WHERE lab_id = $1
ORDER BY role, coalesce(nullif(email, ''), subject);

-- name: UpsertMemberBySubject :one
INSERT INTO labs.memberships (lab_id, subject, email, role, created_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (lab_id, subject) WHERE subject <> ''
DO UPDATE SET role = EXCLUDED.role, email = EXCLUDED.email, updated_at = now()
RETURNING *;

-- name: UpsertMemberByEmail :one
INSERT INTO labs.memberships (lab_id, email, role, created_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT (lab_id, email) WHERE subject = ''
DO UPDATE SET role = EXCLUDED.role, updated_at = now()
RETURNING *;

-- name: DeleteMember :execrows
-- Removes the member named by subject or by email.
DELETE FROM labs.memberships
WHERE lab_id = sqlc.arg('lab_id') AND (subject = sqlc.arg('name') OR (email <> '' AND email = lower(sqlc.arg('name'))));

-- name: EffectiveGrants :many
-- The lab roles a person holds: on the labs they are a member of and, by
-- inheritance, on every sub-lab below them. Email matches only count when
-- the caller's email is verified (the caller passes '' otherwise).
WITH RECURSIVE direct AS (
    SELECT m.lab_id, m.role FROM labs.memberships m
    WHERE (m.subject <> '' AND m.subject = sqlc.arg('subject'))
       OR (sqlc.arg('email')::text <> '' AND m.email = sqlc.arg('email')::text)
), tree AS (
    SELECT l.id AS lab_id, d.role, l.id AS granted_on FROM labs.labs l JOIN direct d ON l.id = d.lab_id
    UNION
    SELECT child.id, tree.role, tree.granted_on FROM labs.labs child JOIN tree ON child.parent_id = tree.lab_id
)
SELECT tree.lab_id, tree.role, tree.granted_on, l.code, l.name
FROM tree JOIN labs.labs l ON l.id = tree.lab_id
WHERE l.purging_at IS NULL
ORDER BY l.code, tree.role;

-- name: GetLabsByIDs :many
SELECT * FROM labs.labs WHERE id = ANY(sqlc.arg('ids')::uuid[]) AND purging_at IS NULL ORDER BY lower(code);
