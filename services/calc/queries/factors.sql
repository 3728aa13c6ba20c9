-- name: EnsureDatasetVersion :exec
-- The bundled default dataset's version row (idempotent).
INSERT INTO calc.factor_dataset_versions (id, dataset, version, description, created_by, state, finished_at)
VALUES ($1, $2, $3, $4, 'bundled', 'FINISHED', now())
ON CONFLICT (dataset, version) DO NOTHING;

-- name: CreateDatasetVersion :one
INSERT INTO calc.factor_dataset_versions (id, dataset, version, description, created_by, state)
VALUES ($1, $2, $3, $4, $5, 'QUEUED')
ON CONFLICT (dataset, version) DO NOTHING
RETURNING id;

-- name: InsertFactorUploadChunk :exec
INSERT INTO calc.factor_upload_chunks (version_id, seq, data) VALUES ($1, $2, $3);

-- name: RecordFactorUpload :exec
UPDATE calc.factor_dataset_versions SET file_sha256 = $2, file_bytes = $3 WHERE id = $1;

-- name: ListFactorUploadChunks :many
SELECT data FROM calc.factor_upload_chunks WHERE version_id = $1 ORDER BY seq;

-- name: ClaimDatasetVersion :one
-- Takes a queued sync job for the transaction (RUNNING until it ends); a
-- second task for it waits here, then finds nothing to do.
UPDATE calc.factor_dataset_versions SET state = 'RUNNING'
WHERE id = $1 AND state = 'QUEUED'
RETURNING *;

-- name: FinishDatasetVersion :exec
UPDATE calc.factor_dataset_versions
SET state = $2, message = $3, rows_total = $4, rows_rejected = $5, finished_at = now()
WHERE id = $1;

-- name: DeleteFactorUploadChunks :exec
DELETE FROM calc.factor_upload_chunks WHERE version_id = $1;

-- name: InsertFactorSyncError :exec
INSERT INTO calc.factor_sync_errors (version_id, line, "column", message) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING;

-- name: UpsertFactor :exec
-- Upserts by identity: a file naming a factor twice keeps its last row.
INSERT INTO calc.factors (dataset, version, kind, emission_type, classification, region, year, value, unit,
                          source, licence, gwp_set, boundary, radiative_forcing, uncertainty_pct)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (dataset, version, kind, emission_type, classification, region, year) DO UPDATE
SET value = EXCLUDED.value, unit = EXCLUDED.unit, source = EXCLUDED.source, licence = EXCLUDED.licence,
    gwp_set = EXCLUDED.gwp_set, boundary = EXCLUDED.boundary, radiative_forcing = EXCLUDED.radiative_forcing,
    uncertainty_pct = EXCLUDED.uncertainty_pct;

-- name: GetDatasetVersion :one
SELECT * FROM calc.factor_dataset_versions WHERE dataset = $1 AND version = $2;

-- name: GetDatasetVersionByID :one
SELECT * FROM calc.factor_dataset_versions WHERE id = $1;

-- name: ListDatasetVersions :many
SELECT v.*, coalesce(f.factors, 0)::bigint AS factors, coalesce(f.first_year, 0)::integer AS first_year,
       coalesce(f.last_year, 0)::integer AS last_year, coalesce(f.licences, '{}')::text[] AS licences
FROM calc.factor_dataset_versions v
LEFT JOIN (
    SELECT dataset, version, count(*) AS factors, min(year) AS first_year, max(year) AS last_year,
           array_agg(DISTINCT licence ORDER BY licence) AS licences
    FROM calc.factors GROUP BY dataset, version
) f ON f.dataset = v.dataset AND f.version = v.version
ORDER BY v.dataset, v.version;

-- name: ListFactorSyncErrors :many
SELECT * FROM calc.factor_sync_errors WHERE version_id = $1 ORDER BY line, "column" LIMIT 1000;

-- name: InsertActivation :one
INSERT INTO calc.factor_activations (year, dataset, version, activated_by) VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: ListActivations :many
SELECT * FROM calc.factor_activations ORDER BY id DESC;

-- name: ActiveVersionOf :one
-- The activation in force for a year.
SELECT * FROM calc.factor_activations WHERE year = $1 ORDER BY id DESC LIMIT 1;

-- name: LockActivations :exec
-- Serialises activations, so the latest activation of a year is also the
-- last to queue its recalculations.
SELECT pg_advisory_xact_lock(hashtextextended('calc.factor_activations', 0));

-- name: RequestRecalculations :many
-- Counts an ask for every lab/year/kind with activities in the years.
-- Closed years are left out unless forced (an admin's activation).
INSERT INTO calc.recalc_requests (lab_id, year, kind, forced)
SELECT DISTINCT lab_id, year, kind, sqlc.arg('force')::boolean FROM calc.activity_counts
WHERE year = ANY(sqlc.arg('years')::integer[]) AND activities > 0
  AND (sqlc.arg('force')::boolean OR calc.year_state(lab_id, year) = 'open')
ON CONFLICT (lab_id, year, kind) DO UPDATE
SET requested = calc.recalc_requests.requested + 1, requested_at = now(),
    forced = calc.recalc_requests.forced OR EXCLUDED.forced
RETURNING lab_id, year, kind;

-- name: GetRecalcRequest :one
SELECT * FROM calc.recalc_requests WHERE lab_id = $1 AND year = $2 AND kind = $3;

-- name: MarkRecalcDone :exec
-- A force lasts until every ask it came with is answered.
UPDATE calc.recalc_requests SET done = greatest(done, sqlc.arg('done')::bigint),
    forced = forced AND greatest(done, sqlc.arg('done')::bigint) < requested
WHERE lab_id = $1 AND year = $2 AND kind = $3;

-- name: InsertRecalculation :exec
INSERT INTO calc.recalculations (id, lab_id, year, kind, from_versions, to_dataset, to_version, activities,
                                 kg_before, kg_after, state, message, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: ListRecalculations :many
SELECT * FROM calc.recalculations
WHERE lab_id = sqlc.arg('lab_id') AND (sqlc.arg('year')::integer = 0 OR year = sqlc.arg('year')::integer)
ORDER BY started_at DESC, id DESC
LIMIT 500;

-- name: SupersedeTargetEmissions :many
-- Moves the emissions of a lab/year/kind's activities to the superseded
-- table and returns what they added to the rollups, per module, in one
-- pass: the rows themselves never leave the database.
WITH moved AS (
    DELETE FROM calc.emissions e
    USING calc.activities a
    WHERE e.activity_id = a.id AND a.lab_id = $1 AND a.year = $2 AND a.kind = $3
    RETURNING e.*
), kept AS (
    INSERT INTO calc.superseded_emissions (recalculation_id, activity_id, variant, lab_id, year, module, emission_type,
                                           scope, quantity, quantity_unit, kg_co2e, factor_id, factor_dataset,
                                           factor_version, uncertainty_pct, overridden, fallback)
    SELECT sqlc.arg('recalculation_id')::uuid, activity_id, variant, lab_id, year, module, emission_type, scope,
           quantity, quantity_unit, kg_co2e, factor_id, factor_dataset, factor_version, uncertainty_pct, overridden,
           fallback
    FROM moved
)
SELECT module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit,
       coalesce(factor_id, '00000000-0000-0000-0000-000000000000')::uuid AS factor_id,
       sum(quantity)::float8 AS quantity, sum(kg_co2e)::float8 AS kg_co2e,
       sum((kg_co2e * uncertainty_pct / 100) ^ 2)::float8 AS uncertainty_sq,
       sum(kg_co2e * uncertainty_pct / 100)::float8 AS uncertainty_linear, count(*) AS entries,
       count(*) FILTER (WHERE overridden) AS overridden, count(*) FILTER (WHERE fallback) AS fallback
FROM moved
GROUP BY module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id;

-- name: ListSupersededEmissions :many
SELECT * FROM calc.superseded_emissions WHERE activity_id = $1 ORDER BY superseded_at DESC, variant, emission_type;

-- name: ListPendingRecalcRequests :many
-- The oldest asks first: a batch at a time, each answered before the next.
SELECT lab_id, year, kind FROM calc.recalc_requests WHERE done < requested ORDER BY requested_at, lab_id, year, kind LIMIT $1;

-- name: ListQueuedDatasetVersions :many
SELECT id FROM calc.factor_dataset_versions WHERE state = 'QUEUED' ORDER BY created_at LIMIT $1;

-- name: ShareEntryTarget :exec
-- Single entries of a lab/year/kind share this lock (they do not wait for
-- each other); a recalculation of the target takes it alone.
SELECT pg_advisory_xact_lock_shared(hashtextextended(sqlc.arg('lab_id')::text || '/' || sqlc.arg('year')::text || '/' || sqlc.arg('kind')::text || '/entries', 0));

-- name: LockEntryTarget :exec
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg('lab_id')::text || '/' || sqlc.arg('year')::text || '/' || sqlc.arg('kind')::text || '/entries', 0));
