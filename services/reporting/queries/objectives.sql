-- name: GetObjective :one
-- A lab's objective, or the institution's (lab_id NULL).
SELECT * FROM reporting.objectives
WHERE lab_id IS NOT DISTINCT FROM sqlc.narg('lab_id')::uuid;

-- name: GetObjectiveForUpdate :one
SELECT * FROM reporting.objectives
WHERE lab_id IS NOT DISTINCT FROM sqlc.narg('lab_id')::uuid
FOR UPDATE;

-- name: UpsertObjective :one
INSERT INTO reporting.objectives (id, lab_id, include_sublabs, baseline_year, target_year, reduction_pct,
    module_reductions, scope_reductions, milestones, alert_margin_pct, created_by, updated_by)
VALUES (sqlc.arg('id'), sqlc.narg('lab_id')::uuid, sqlc.arg('include_sublabs'), sqlc.arg('baseline_year'),
    sqlc.arg('target_year'), sqlc.arg('reduction_pct'), sqlc.arg('module_reductions'), sqlc.arg('scope_reductions'),
    sqlc.arg('milestones'), sqlc.arg('alert_margin_pct'), sqlc.arg('actor'), sqlc.arg('actor'))
ON CONFLICT (lab_id) DO UPDATE SET
    include_sublabs = EXCLUDED.include_sublabs,
    baseline_year = EXCLUDED.baseline_year,
    target_year = EXCLUDED.target_year,
    reduction_pct = EXCLUDED.reduction_pct,
    module_reductions = EXCLUDED.module_reductions,
    scope_reductions = EXCLUDED.scope_reductions,
    milestones = EXCLUDED.milestones,
    alert_margin_pct = EXCLUDED.alert_margin_pct,
    updated_by = EXCLUDED.updated_by,
    updated_at = now()
RETURNING *;

-- name: DeleteObjective :one
DELETE FROM reporting.objectives
WHERE lab_id IS NOT DISTINCT FROM sqlc.narg('lab_id')::uuid
RETURNING *;

-- name: ListLabObjectives :many
-- The labs' objectives (the institution's excepted) after a lab id, a page
-- at a time, for the alerts.
SELECT * FROM reporting.objectives
WHERE lab_id > sqlc.arg('after')::uuid
ORDER BY lab_id
LIMIT sqlc.arg('page_size');

-- name: PurgeLabObjective :execrows
DELETE FROM reporting.objectives WHERE lab_id = sqlc.arg('lab_id')::uuid;
