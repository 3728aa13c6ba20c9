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
