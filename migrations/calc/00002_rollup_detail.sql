-- Emissions say how they were computed (the factor's dataset, an override,
-- a fallback factor) and rollups keep enough detail for a report to be
-- served from them alone: per emission type and factor dataset version, with
-- quantities and the counts of overridden and fallback entries.

-- +goose Up
-- Scope 0 holds measures that emit nothing themselves but belong in the
-- totals' company: headcount FTE, the denominator of per-FTE figures.
ALTER TABLE calc.emissions DROP CONSTRAINT emissions_scope_check;
ALTER TABLE calc.emissions ADD CONSTRAINT emissions_scope_check CHECK (scope IN (0, 1, 2, 3));
ALTER TABLE calc.emissions
    ADD COLUMN factor_dataset text NOT NULL DEFAULT '',
    -- kg_co2e was given with the data rather than computed.
    ADD COLUMN overridden boolean NOT NULL DEFAULT false,
    -- The factor is not the one asked for (another year, or a documented
    -- stand-in region or classification).
    ADD COLUMN fallback boolean NOT NULL DEFAULT false;
UPDATE calc.emissions SET factor_dataset = 'default' WHERE factor_id IS NOT NULL;

-- Which import wrote into which lab and year: reports count imports.
ALTER TABLE calc.applied_imports
    ADD COLUMN lab_id uuid,
    ADD COLUMN year integer;
CREATE INDEX applied_imports_lab_idx ON calc.applied_imports (lab_id, year);

DROP TABLE calc.rollups;
CREATE TABLE calc.rollups (
    lab_id         uuid NOT NULL,
    year           integer NOT NULL,
    module         text NOT NULL,
    emission_type  text NOT NULL,
    scope          smallint NOT NULL,
    variant        text NOT NULL,
    factor_dataset text NOT NULL,
    factor_version text NOT NULL,
    quantity_unit  text NOT NULL,
    quantity       double precision NOT NULL,
    kg_co2e        double precision NOT NULL,
    uncertainty_sq double precision NOT NULL,
    uncertainty_kg double precision NOT NULL,
    entries        bigint NOT NULL,
    overridden     bigint NOT NULL,
    fallback       bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit)
);
INSERT INTO calc.rollups (lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version,
                          quantity_unit, quantity, kg_co2e, uncertainty_sq, uncertainty_kg, entries, overridden, fallback)
SELECT lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit,
       sum(quantity), sum(kg_co2e), sum((kg_co2e * uncertainty_pct / 100) ^ 2),
       sqrt(sum((kg_co2e * uncertainty_pct / 100) ^ 2)), count(*),
       count(*) FILTER (WHERE overridden), count(*) FILTER (WHERE fallback)
FROM calc.emissions
GROUP BY lab_id, year, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit;

-- Activities per lab, year, module, kind and source, kept current like the
-- rollups (an activity may emit several emission types).
CREATE TABLE calc.activity_counts (
    lab_id     uuid NOT NULL,
    year       integer NOT NULL,
    module     text NOT NULL,
    kind       text NOT NULL,
    source     text NOT NULL,
    activities bigint NOT NULL,
    PRIMARY KEY (lab_id, year, module, kind, source)
);
INSERT INTO calc.activity_counts (lab_id, year, module, kind, source, activities)
SELECT lab_id, year, module, kind, source, count(*) FROM calc.activities GROUP BY lab_id, year, module, kind, source;

-- +goose Down
DROP TABLE calc.activity_counts;
DROP TABLE calc.rollups;
CREATE TABLE calc.rollups (
    lab_id         uuid NOT NULL,
    year           integer NOT NULL,
    module         text NOT NULL,
    scope          smallint NOT NULL,
    variant        text NOT NULL,
    kg_co2e        double precision NOT NULL,
    uncertainty_sq double precision NOT NULL,
    uncertainty_kg double precision NOT NULL,
    entries        bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lab_id, year, module, scope, variant)
);
DELETE FROM calc.emissions WHERE scope = 0;
INSERT INTO calc.rollups (lab_id, year, module, scope, variant, kg_co2e, uncertainty_sq, uncertainty_kg, entries)
SELECT lab_id, year, module, scope, variant, sum(kg_co2e), sum((kg_co2e * uncertainty_pct / 100) ^ 2),
       sqrt(sum((kg_co2e * uncertainty_pct / 100) ^ 2)), count(*)
FROM calc.emissions
GROUP BY lab_id, year, module, scope, variant;
DROP INDEX calc.applied_imports_lab_idx;
ALTER TABLE calc.applied_imports DROP COLUMN lab_id, DROP COLUMN year;
ALTER TABLE calc.emissions DROP COLUMN factor_dataset, DROP COLUMN overridden, DROP COLUMN fallback;
ALTER TABLE calc.emissions DROP CONSTRAINT emissions_scope_check;
ALTER TABLE calc.emissions ADD CONSTRAINT emissions_scope_check CHECK (scope IN (1, 2, 3));
