-- The data lifecycle (ADR 019): activities validated or rejected, and
-- reporting years closed and reopened.

-- name: ShareYear :exec
-- Every writer of a lab's year holds both locks (shared) until its
-- transaction ends: closing the lab's year takes the second alone, closing
-- the year for every lab the first, so a close waits for the writes in
-- progress and none starts before it is done. Always taken before a
-- lab/year/kind's locks.
SELECT pg_advisory_xact_lock_shared(hashtextextended('year/' || sqlc.arg('year')::text, 0)),
       pg_advisory_xact_lock_shared(hashtextextended('year/' || sqlc.arg('lab_id')::text || '/' || sqlc.arg('year')::text, 0));

-- name: LockLabYear :exec
SELECT pg_advisory_xact_lock(hashtextextended('year/' || sqlc.arg('lab_id')::text || '/' || sqlc.arg('year')::text, 0));

-- name: LockYearEverywhere :exec
SELECT pg_advisory_xact_lock(hashtextextended('year/' || sqlc.arg('year')::text, 0));

-- name: YearState :one
SELECT calc.year_state(sqlc.arg('lab_id')::uuid, sqlc.arg('year')::integer)::text AS state;

-- name: SetYearState :exec
INSERT INTO calc.reporting_years (lab_id, year, state, changed_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT (lab_id, year) DO UPDATE
SET state = EXCLUDED.state, changed_by = EXCLUDED.changed_by, changed_at = now();

-- name: CloseLabRowsOfYear :execrows
-- The institution closes a year: labs reopened one by one close again.
UPDATE calc.reporting_years SET state = 'closed', changed_by = $2, changed_at = now()
WHERE year = $1 AND state = 'open' AND lab_id <> '00000000-0000-0000-0000-000000000000';

-- name: ListLabYearStates :many
-- The years a lab has data, a contract or a state in, with that state.
WITH years AS (
    SELECT year FROM calc.activity_counts WHERE lab_id = sqlc.arg('lab_id')::uuid
    UNION
    SELECT year FROM calc.electricity_contracts WHERE lab_id = sqlc.arg('lab_id')::uuid
    UNION
    SELECT year FROM calc.reporting_years
    WHERE lab_id = sqlc.arg('lab_id')::uuid OR lab_id = '00000000-0000-0000-0000-000000000000'
)
SELECT y.year::integer AS year,
       coalesce(own.state, everywhere.state, 'open')::text AS state,
       coalesce(own.changed_by, everywhere.changed_by, '')::text AS changed_by,
       own.changed_at AS own_changed_at, everywhere.changed_at AS everywhere_changed_at
FROM years y
LEFT JOIN calc.reporting_years own ON own.lab_id = sqlc.arg('lab_id')::uuid AND own.year = y.year
LEFT JOIN calc.reporting_years everywhere
       ON everywhere.lab_id = '00000000-0000-0000-0000-000000000000' AND everywhere.year = y.year
ORDER BY y.year
LIMIT 500;

-- name: SetActivityState :exec
UPDATE calc.activities SET state = $2, state_reason = $3, state_by = $4, state_at = now() WHERE id = $1;

-- name: SetActivitiesState :execrows
-- A set of a lab/year's activities, or a whole import, in one statement
-- (through the activities' lab/year index): only those in from_states.
UPDATE calc.activities
SET state = sqlc.arg('state')::text, state_reason = sqlc.arg('reason')::text, state_by = sqlc.arg('changed_by')::text,
    state_at = now()
WHERE lab_id = sqlc.arg('lab_id')::uuid AND year = sqlc.arg('year')::integer
  AND state = ANY(sqlc.arg('from_states')::text[])
  AND (sqlc.arg('module')::text = '' OR module = sqlc.arg('module')::text)
  AND (sqlc.arg('kind')::text = '' OR kind = sqlc.arg('kind')::text)
  AND (sqlc.arg('source')::text = '' OR source = sqlc.arg('source')::text)
  AND (sqlc.narg('import_id')::uuid IS NULL OR import_id = sqlc.narg('import_id')::uuid);

-- name: GetImportTarget :one
SELECT lab_id, year FROM calc.applied_imports WHERE import_id = $1;

-- name: ReportValidated :many
-- Validated activities' emissions per lab, year and module, summed when a
-- report asks (ADR 019: no rollup to keep current on any write path).
SELECT a.lab_id, a.year, a.module,
       coalesce(sum(e.kg_co2e) FILTER (WHERE e.variant = '' AND e.scope > 0), 0)::float8 AS kg_co2e,
       count(DISTINCT a.id) AS activities
FROM calc.activities a
LEFT JOIN calc.emissions e ON e.activity_id = a.id
WHERE a.lab_id = ANY(@lab_ids::uuid[]) AND a.year = ANY(@years::int[]) AND a.state = 'validated'
GROUP BY a.lab_id, a.year, a.module
ORDER BY a.lab_id, a.year, a.module;

-- name: ClosedYearsWithData :many
-- The closed lab/years an activation of years would recalculate.
SELECT DISTINCT lab_id, year FROM calc.activity_counts
WHERE year = ANY(sqlc.arg('years')::integer[]) AND activities > 0 AND calc.year_state(lab_id, year) = 'closed'
ORDER BY year, lab_id;

-- name: RecordYearClosedForLabs :execrows
-- The institution closes a year: one audit event per lab it closes (every
-- lab calc has data, a contract or a state for, in any year, whose year was
-- open until now), in one statement whatever the number of labs. Run
-- before the close.
INSERT INTO calc.audit_events (actor_subject, actor_email, lab_id, resource_type, resource_id, action, before, after, trace_id)
SELECT sqlc.arg('actor_subject')::text, sqlc.arg('actor_email')::text, labs.lab_id,
       sqlc.arg('resource_type')::text, sqlc.arg('year')::integer::text, sqlc.arg('action')::text,
       jsonb_build_object('lab_id', labs.lab_id, 'year', sqlc.arg('year')::integer, 'state', 'open'),
       jsonb_build_object('lab_id', labs.lab_id, 'year', sqlc.arg('year')::integer, 'state', 'closed', 'every_lab', true),
       sqlc.arg('trace_id')::text
FROM (
    SELECT lab_id FROM calc.activity_counts
    UNION
    SELECT lab_id FROM calc.electricity_contracts
    UNION
    SELECT lab_id FROM calc.reporting_years WHERE lab_id <> '00000000-0000-0000-0000-000000000000'
) labs
WHERE calc.year_state(labs.lab_id, sqlc.arg('year')::integer) = 'open';
