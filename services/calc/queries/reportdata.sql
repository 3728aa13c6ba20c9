-- Queries of ReportDataService: what the reporting service builds reports
-- and exports from.

-- name: ReportRollups :many
SELECT lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id,
       quantity, kg_co2e, uncertainty_sq, uncertainty_linear, entries, overridden, fallback
FROM calc.rollups
WHERE lab_id = ANY(@lab_ids::uuid[]) AND year = ANY(@years::int[])
ORDER BY lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id;

-- name: ReportActivityCounts :many
SELECT lab_id, year, module, kind, source, activities
FROM calc.activity_counts
WHERE lab_id = ANY(@lab_ids::uuid[]) AND year = ANY(@years::int[])
ORDER BY lab_id, year, module, kind, source;

-- name: ReportImportCounts :many
SELECT lab_id::uuid AS lab_id, year::int AS year, count(*) AS imports
FROM calc.applied_imports
WHERE lab_id = ANY(@lab_ids::uuid[]) AND year = ANY(@years::int[])
GROUP BY lab_id, year
ORDER BY lab_id, year;

-- name: ReportLabYears :many
SELECT DISTINCT year FROM calc.rollups WHERE lab_id = ANY(@lab_ids::uuid[])
UNION
SELECT DISTINCT year FROM calc.activity_counts WHERE lab_id = ANY(@lab_ids::uuid[])
ORDER BY year;

-- name: ReportYearTotals :many
-- The uncertainty as reports combine it (ADR 026): per factor the sum of
-- the emissions' uncertainties, squared (a lab's contract counts as one
-- factor); figures without a factor, their squares; all added.
WITH groups AS (
    SELECT lab_id,
           CASE WHEN factor_id = '00000000-0000-0000-0000-000000000000' AND factor_dataset = ''
                THEN sum(uncertainty_sq) ELSE sum(uncertainty_linear) ^ 2 END AS uncertainty_sq
    FROM calc.rollups
    WHERE year = @year AND variant = '' AND scope > 0
    GROUP BY lab_id, factor_id, factor_dataset, factor_version
), uncertainties AS (
    SELECT lab_id, sum(uncertainty_sq) AS uncertainty_sq FROM groups GROUP BY lab_id
)
SELECT r.lab_id,
       coalesce(sum(r.kg_co2e) FILTER (WHERE r.variant = '' AND r.scope > 0), 0)::float8 AS kg_co2e,
       coalesce(max(u.uncertainty_sq), 0)::float8 AS uncertainty_sq,
       coalesce(sum(r.quantity) FILTER (WHERE r.scope = 0 AND r.emission_type = 'fte' AND r.variant = ''), 0)::float8 AS fte,
       coalesce(sum(r.entries) FILTER (WHERE r.variant = '' AND r.scope > 0), 0)::bigint AS entries
FROM calc.rollups r LEFT JOIN uncertainties u ON u.lab_id = r.lab_id
WHERE r.year = @year
GROUP BY r.lab_id
ORDER BY r.lab_id;

-- name: ReportExportRows :many
-- A lab-year's emissions with their activities and factors, in (module,
-- kind, activity, variant, emission type) order. Exports read it as a
-- stream (calcdb.StreamReportExportRows), never all at once.
SELECT a.id AS activity_id, a.lab_id, a.module, a.kind, a.source, coalesce(a.row_no, 0)::bigint AS row_no,
       a.inputs::text AS inputs_json,
       e.variant, e.emission_type, e.scope, e.quantity, e.quantity_unit, e.kg_co2e, e.factor_id, e.factor_dataset,
       e.factor_version, coalesce(f.value, 0)::float8 AS factor_value, coalesce(f.unit, '')::text AS factor_unit,
       e.uncertainty_pct, e.overridden, e.fallback
FROM calc.activities a
JOIN calc.emissions e ON e.activity_id = a.id
LEFT JOIN calc.factors f ON f.id = e.factor_id
WHERE a.lab_id = ANY(@lab_ids::uuid[]) AND a.year = @year
ORDER BY a.module, a.kind, a.id, e.variant, e.emission_type;
