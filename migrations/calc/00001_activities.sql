-- Activities (data entries), their emissions, the emission factors they
-- were computed with, and per lab/year/module/scope rollups.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS calc;

-- Emission factors, versioned by dataset. A factor's identity is (dataset,
-- version, kind, emission_type, classification, region, year).
CREATE TABLE calc.factors (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dataset          text NOT NULL,
    version          text NOT NULL,
    kind             text NOT NULL,
    emission_type    text NOT NULL,
    classification   text NOT NULL DEFAULT '',
    region           text NOT NULL DEFAULT '',
    year             integer NOT NULL,
    value            double precision NOT NULL,
    unit             text NOT NULL,
    source           text NOT NULL,
    licence          text NOT NULL,
    gwp_set          text NOT NULL DEFAULT 'AR6',
    boundary         text NOT NULL DEFAULT 'combustion',
    radiative_forcing boolean,
    uncertainty_pct  double precision NOT NULL DEFAULT 0,
    UNIQUE (dataset, version, kind, emission_type, classification, region, year)
);

-- One activity is one data entry: a CSV row or a single entry.
CREATE TABLE calc.activities (
    id          uuid PRIMARY KEY,
    lab_id      uuid NOT NULL,
    year        integer NOT NULL,
    module      text NOT NULL,
    kind        text NOT NULL,
    source      text NOT NULL CHECK (source IN ('csv', 'entry')),
    import_id   uuid,
    row_no      bigint,
    inputs      json NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_target_idx ON calc.activities (lab_id, year, kind, source);

-- What an activity emits. variant '' is the figure reported in totals;
-- others sit beside it (without_rf: flights without radiative forcing).
CREATE TABLE calc.emissions (
    -- No foreign key: a bulk COPY checks no reference per row; emissions are
    -- only ever written and deleted together with their activities.
    activity_id     uuid NOT NULL,
    variant         text NOT NULL DEFAULT '',
    lab_id          uuid NOT NULL,
    year            integer NOT NULL,
    module          text NOT NULL,
    emission_type   text NOT NULL,
    scope           smallint NOT NULL CHECK (scope IN (1, 2, 3)),
    quantity        double precision NOT NULL,
    quantity_unit   text NOT NULL,
    kg_co2e         double precision NOT NULL,
    -- The factor used (factors are never deleted; no foreign key, whose
    -- per-row check would cost a bulk COPY more than the row itself).
    factor_id       uuid,
    factor_version  text NOT NULL,
    uncertainty_pct double precision NOT NULL DEFAULT 0
);
-- Two indexes only (each costs every COPYed row): rollups and deletions go
-- by lab, year and module; single entries by activity. Uniqueness per
-- activity is the writer's (one transaction per import, applied once:
-- ADR 007).
CREATE INDEX emissions_rollup_idx ON calc.emissions (lab_id, year, module);
-- An activity's emissions, for the single-entry path and listings.
CREATE INDEX emissions_activity_idx ON calc.emissions (activity_id);

-- Totals per lab, year, module, scope and variant, kept current in the
-- transaction that changes the emissions, by adding what it adds and
-- subtracting what it removes (row locks serialise concurrent writers).
-- The uncertainty of a total is the root-sum-square of its emissions'
-- absolute uncertainties: the sum of squares is kept so it can be added to.
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

-- Imports already written: a retried or duplicated task finds its job here
-- and writes nothing twice.
CREATE TABLE calc.applied_imports (
    import_id     uuid PRIMARY KEY,
    rows_total    bigint NOT NULL,
    rows_ok       bigint NOT NULL,
    rows_rejected bigint NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE calc.applied_imports;
DROP TABLE calc.rollups;
DROP TABLE calc.emissions;
DROP TABLE calc.activities;
DROP TABLE calc.factors;
