-- name: PurgeLabExports :execrows
-- The exports of a lab being purged and those that included it as a
-- sub-lab, with their ZIPs (ON DELETE CASCADE). A worker writing one loses
-- its lease: its write finds the row gone and keeps nothing.
DELETE FROM reporting.exports
WHERE lab_id = sqlc.arg('lab_id')::uuid OR lab_ids @> ARRAY[sqlc.arg('lab_id')::uuid];
