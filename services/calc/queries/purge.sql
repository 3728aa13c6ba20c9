-- The data of a lab being purged (ADR 020), table by table; the store runs
-- them in one transaction. Emissions and superseded emissions go through
-- their activities' and recalculations' indexes.

-- name: PurgeLabEmissions :execrows
DELETE FROM calc.emissions
WHERE activity_id IN (SELECT a.id FROM calc.activities a WHERE a.lab_id = $1);

-- name: PurgeLabActivities :execrows
DELETE FROM calc.activities WHERE lab_id = $1;

-- name: PurgeLabSupersededEmissions :execrows
DELETE FROM calc.superseded_emissions
WHERE recalculation_id IN (SELECT r.id FROM calc.recalculations r WHERE r.lab_id = $1);

-- name: PurgeLabRecalculations :execrows
DELETE FROM calc.recalculations WHERE lab_id = $1;

-- name: PurgeLabRecalcRequests :execrows
DELETE FROM calc.recalc_requests WHERE lab_id = $1;

-- name: PurgeLabRollups :execrows
DELETE FROM calc.rollups WHERE lab_id = $1;

-- name: PurgeLabActivityCounts :execrows
DELETE FROM calc.activity_counts WHERE lab_id = $1;

-- name: PurgeLabAppliedImports :execrows
DELETE FROM calc.applied_imports WHERE lab_id = sqlc.arg('lab_id')::uuid;

-- name: PurgeLabContracts :execrows
DELETE FROM calc.electricity_contracts WHERE lab_id = $1;
