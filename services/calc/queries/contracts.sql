-- name: UpsertContract :one
INSERT INTO calc.electricity_contracts (lab_id, year, supplier, kg_co2e_per_kwh, uncertainty_pct, source, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (lab_id, year) DO UPDATE
SET supplier = EXCLUDED.supplier, kg_co2e_per_kwh = EXCLUDED.kg_co2e_per_kwh, uncertainty_pct = EXCLUDED.uncertainty_pct,
    source = EXCLUDED.source, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING *;

-- name: GetContract :one
SELECT * FROM calc.electricity_contracts WHERE lab_id = $1 AND year = $2;

-- name: ListContracts :many
SELECT * FROM calc.electricity_contracts WHERE lab_id = $1 ORDER BY year;

-- name: DeleteContract :execrows
DELETE FROM calc.electricity_contracts WHERE lab_id = $1 AND year = $2;

-- name: RequestLabRecalculations :many
-- Counts an ask for the lab's kinds of a year that have activities (a
-- changed contract changes their market-based figures).
INSERT INTO calc.recalc_requests (lab_id, year, kind)
SELECT c.lab_id, c.year, c.kind FROM calc.activity_counts c
WHERE c.lab_id = sqlc.arg('lab_id') AND c.year = sqlc.arg('year') AND c.kind = ANY(sqlc.arg('kinds')::text[]) AND c.activities > 0
GROUP BY c.lab_id, c.year, c.kind
ON CONFLICT (lab_id, year, kind) DO UPDATE
SET requested = calc.recalc_requests.requested + 1, requested_at = now()
RETURNING lab_id, year, kind;
