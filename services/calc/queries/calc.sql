-- name: InsertFactors :exec
-- Adds many factors in one statement (the bundled dataset's thousands at
-- every start); those already there stay as they are. The arrays are
-- unnested side by side, one factor per position.
INSERT INTO calc.factors (dataset, version, kind, emission_type, classification, region, year, value, unit,
                          source, licence, gwp_set, boundary, radiative_forcing, uncertainty_pct)
SELECT unnest(@datasets::text[]), unnest(@versions::text[]), unnest(@kinds::text[]), unnest(@emission_types::text[]),
       unnest(@classifications::text[]), unnest(@regions::text[]), unnest(@years::integer[]),
       unnest(@factor_values::double precision[]), unnest(@units::text[]), unnest(@sources::text[]),
       unnest(@licences::text[]), unnest(@gwp_sets::text[]), unnest(@boundaries::text[]),
       NULLIF(unnest(@radiative_forcings::text[]), '')::boolean, unnest(@uncertainty_pcts::double precision[])
ON CONFLICT (dataset, version, kind, emission_type, classification, region, year) DO NOTHING;

-- name: ListFactors :many
SELECT * FROM calc.factors WHERE dataset = $1 AND version = $2;

-- name: ClaimImport :one
-- Takes the import for this transaction; a second transaction waits here
-- until the first ends, then finds it applied.
INSERT INTO calc.applied_imports (import_id, rows_total, rows_ok, rows_rejected)
VALUES ($1, 0, 0, 0)
ON CONFLICT (import_id) DO NOTHING
RETURNING import_id;

-- name: GetAppliedImport :one
SELECT * FROM calc.applied_imports WHERE import_id = $1;

-- name: RecordAppliedImport :exec
UPDATE calc.applied_imports SET rows_total = $2, rows_ok = $3, rows_rejected = $4, lab_id = $5, year = $6, applied_at = now()
WHERE import_id = $1;

-- name: DeleteCSVEmissions :many
-- Removes the emissions of a lab/year/kind's CSV rows (a replace) and
-- returns what they added to the totals, in one pass.
WITH gone AS (
    DELETE FROM calc.emissions e
    USING calc.activities a
    WHERE e.activity_id = a.id AND a.lab_id = $1 AND a.year = $2 AND a.kind = $3 AND a.source = 'csv'
    RETURNING e.emission_type, e.scope, e.variant, e.factor_dataset, e.factor_version, e.quantity_unit,
              coalesce(e.factor_id, '00000000-0000-0000-0000-000000000000') AS factor_id,
              e.quantity, e.kg_co2e, e.uncertainty_pct, e.overridden, e.fallback
)
SELECT emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id::uuid AS factor_id,
       sum(quantity)::float8 AS quantity, sum(kg_co2e)::float8 AS kg_co2e,
       sum((kg_co2e * uncertainty_pct / 100) ^ 2)::float8 AS uncertainty_sq,
       sum(kg_co2e * uncertainty_pct / 100)::float8 AS uncertainty_linear, count(*) AS entries,
       count(*) FILTER (WHERE overridden) AS overridden, count(*) FILTER (WHERE fallback) AS fallback
FROM gone
GROUP BY emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id;

-- name: DeleteCSVActivities :execrows
DELETE FROM calc.activities WHERE lab_id = $1 AND year = $2 AND kind = $3 AND source = 'csv';

-- name: AddToRollup :exec
INSERT INTO calc.rollups (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version,
                          quantity_unit, factor_id, quantity, kg_co2e, uncertainty_sq, uncertainty_kg, uncertainty_linear,
                          entries, overridden, fallback)
VALUES (sqlc.arg('lab_id'), sqlc.arg('year'), sqlc.arg('module'), sqlc.arg('emission_type'), sqlc.arg('scope'),
        sqlc.arg('variant'), sqlc.arg('factor_dataset'), sqlc.arg('factor_version'), sqlc.arg('quantity_unit'),
        sqlc.arg('factor_id'), sqlc.arg('quantity'), sqlc.arg('kg_co2e'), sqlc.arg('uncertainty_sq'),
        sqrt(greatest(sqlc.arg('uncertainty_sq')::float8, 0)), sqlc.arg('uncertainty_linear'), sqlc.arg('entries'),
        sqlc.arg('overridden'), sqlc.arg('fallback'))
ON CONFLICT (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id) DO UPDATE
SET quantity = calc.rollups.quantity + EXCLUDED.quantity,
    kg_co2e = calc.rollups.kg_co2e + EXCLUDED.kg_co2e,
    uncertainty_sq = calc.rollups.uncertainty_sq + EXCLUDED.uncertainty_sq,
    uncertainty_linear = calc.rollups.uncertainty_linear + EXCLUDED.uncertainty_linear,
    uncertainty_kg = sqrt(greatest(calc.rollups.uncertainty_sq + EXCLUDED.uncertainty_sq, 0)),
    entries = calc.rollups.entries + EXCLUDED.entries,
    overridden = calc.rollups.overridden + EXCLUDED.overridden,
    fallback = calc.rollups.fallback + EXCLUDED.fallback,
    updated_at = now();

-- name: DeleteEmptyRollups :exec
-- A rollup whose entries are all gone goes too (a report lists what is).
DELETE FROM calc.rollups WHERE lab_id = $1 AND year = $2 AND entries <= 0;

-- name: AddToActivityCount :exec
INSERT INTO calc.activity_counts (lab_id, year, module, kind, source, activities)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (lab_id, year, module, kind, source) DO UPDATE
SET activities = calc.activity_counts.activities + EXCLUDED.activities;

-- name: DeleteEmptyActivityCounts :exec
DELETE FROM calc.activity_counts WHERE lab_id = $1 AND year = $2 AND activities <= 0;

-- name: ListRollups :many
SELECT * FROM calc.rollups WHERE lab_id = $1 AND year = $2
ORDER BY module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit;

-- name: InsertActivity :exec
INSERT INTO calc.activities (id, lab_id, year, module, kind, source, inputs)
VALUES ($1, $2, $3, $4, $5, 'entry', $6);

-- name: InsertEmission :exec
INSERT INTO calc.emissions (activity_id, variant, lab_id, year, module, emission_type, scope, quantity,
                            quantity_unit, kg_co2e, factor_id, factor_dataset, factor_version, uncertainty_pct,
                            overridden, fallback)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: GetActivity :one
SELECT * FROM calc.activities WHERE id = $1;

-- name: ListActivities :many
SELECT * FROM calc.activities
WHERE lab_id = sqlc.arg('lab_id')
  AND (sqlc.arg('year')::integer = 0 OR year = sqlc.arg('year')::integer)
  AND (sqlc.arg('module')::text = '' OR module = sqlc.arg('module')::text)
  AND (sqlc.arg('kind')::text = '' OR kind = sqlc.arg('kind')::text)
  AND (sqlc.arg('source')::text = '' OR source = sqlc.arg('source')::text)
  AND (sqlc.arg('state')::text = '' OR state = sqlc.arg('state')::text)
  AND (sqlc.narg('before_id')::uuid IS NULL OR id < sqlc.narg('before_id')::uuid)
ORDER BY id DESC
LIMIT sqlc.arg('page_limit');

-- name: ListEmissionsOf :many
SELECT * FROM calc.emissions WHERE activity_id = ANY(sqlc.arg('ids')::uuid[]) ORDER BY activity_id, variant, emission_type;

-- name: UpdateActivity :exec
-- A changed activity is pending again, whatever it was.
UPDATE calc.activities SET year = $2, inputs = $3, state = 'pending', state_reason = '', state_by = '', state_at = NULL
WHERE id = $1;

-- name: DeleteEmissionsOf :exec
DELETE FROM calc.emissions WHERE activity_id = $1;

-- name: DeleteActivity :exec
DELETE FROM calc.activities WHERE id = $1;

-- name: SearchFactors :many
SELECT * FROM calc.factors
WHERE (sqlc.arg('dataset')::text = '' OR dataset = sqlc.arg('dataset')::text)
  AND (sqlc.arg('version')::text = '' OR version = sqlc.arg('version')::text)
  AND (sqlc.arg('kind')::text = '' OR kind = sqlc.arg('kind')::text)
  AND (sqlc.arg('emission_type')::text = '' OR emission_type = sqlc.arg('emission_type')::text)
  AND (sqlc.arg('classification')::text = '' OR classification = sqlc.arg('classification')::text)
  AND (sqlc.arg('region')::text = '' OR region = sqlc.arg('region')::text)
  AND (sqlc.arg('year')::integer = 0 OR year = sqlc.arg('year')::integer)
  AND (sqlc.narg('after_id')::uuid IS NULL OR id > sqlc.narg('after_id')::uuid)
ORDER BY id
LIMIT sqlc.arg('page_limit');

-- name: ListFactorDatasets :many
SELECT dataset, version, count(*) AS factors, min(year)::integer AS first_year, max(year)::integer AS last_year,
       array_agg(DISTINCT licence ORDER BY licence)::text[] AS licences
FROM calc.factors
GROUP BY dataset, version
ORDER BY dataset, version;

-- name: LockTarget :exec
-- Serialises writers of one lab/year/kind's CSV rows (imports), so a
-- replace never deletes what another import is writing.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg('lab_id')::text || '/' || sqlc.arg('year')::text || '/' || sqlc.arg('kind')::text, 0));

-- name: GetActivityForUpdate :one
SELECT * FROM calc.activities WHERE id = $1 FOR UPDATE;
