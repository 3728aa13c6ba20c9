-- Honest uncertainty (ADR 026): a factor's uncertainty is fully correlated
-- across the emissions computed with it. Rollups keep the factor they sum
-- (factor_id, the zero UUID for figures computed without one) and the
-- signed sum of the emissions' absolute uncertainties (uncertainty_linear),
-- which reports square per factor; uncertainty_sq stays the independent
-- sum of squares, for figures without a factor.

-- +goose Up
ALTER TABLE calc.rollups
    ADD COLUMN factor_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    ADD COLUMN uncertainty_linear double precision NOT NULL DEFAULT 0;
ALTER TABLE calc.rollups DROP CONSTRAINT rollups_pkey;
DELETE FROM calc.rollups;
INSERT INTO calc.rollups (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version,
                          quantity_unit, factor_id, quantity, kg_co2e, uncertainty_sq, uncertainty_kg, uncertainty_linear,
                          entries, overridden, fallback)
SELECT lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit,
       coalesce(factor_id, '00000000-0000-0000-0000-000000000000'),
       sum(quantity), sum(kg_co2e), sum((kg_co2e * uncertainty_pct / 100) ^ 2),
       sqrt(sum((kg_co2e * uncertainty_pct / 100) ^ 2)), sum(kg_co2e * uncertainty_pct / 100), count(*),
       count(*) FILTER (WHERE overridden), count(*) FILTER (WHERE fallback)
FROM calc.emissions
GROUP BY lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit,
         coalesce(factor_id, '00000000-0000-0000-0000-000000000000');
ALTER TABLE calc.rollups ADD PRIMARY KEY
    (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id);

-- Scenarios' results the same way; computed again at their next read.
ALTER TABLE calc.scenario_rollups
    ADD COLUMN factor_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    ADD COLUMN uncertainty_linear double precision NOT NULL DEFAULT 0;
ALTER TABLE calc.scenario_rollups DROP CONSTRAINT scenario_rollups_pkey;
DELETE FROM calc.scenario_rollups;
UPDATE calc.scenarios SET computed_revision = 0;
ALTER TABLE calc.scenario_rollups ADD PRIMARY KEY
    (scenario_id, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id);

-- +goose Down
ALTER TABLE calc.scenario_rollups DROP CONSTRAINT scenario_rollups_pkey;
DELETE FROM calc.scenario_rollups;
UPDATE calc.scenarios SET computed_revision = 0;
ALTER TABLE calc.scenario_rollups DROP COLUMN factor_id, DROP COLUMN uncertainty_linear;
ALTER TABLE calc.scenario_rollups ADD PRIMARY KEY
    (scenario_id, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit);

ALTER TABLE calc.rollups DROP CONSTRAINT rollups_pkey;
DELETE FROM calc.rollups;
ALTER TABLE calc.rollups DROP COLUMN factor_id, DROP COLUMN uncertainty_linear;
INSERT INTO calc.rollups (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version,
                          quantity_unit, quantity, kg_co2e, uncertainty_sq, uncertainty_kg, entries, overridden, fallback)
SELECT lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit,
       sum(quantity), sum(kg_co2e), sum((kg_co2e * uncertainty_pct / 100) ^ 2),
       sqrt(sum((kg_co2e * uncertainty_pct / 100) ^ 2)), count(*),
       count(*) FILTER (WHERE overridden), count(*) FILTER (WHERE fallback)
FROM calc.emissions
GROUP BY lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit;
ALTER TABLE calc.rollups ADD PRIMARY KEY
    (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit);
