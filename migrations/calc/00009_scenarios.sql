-- What-if scenarios (ADR 024): a copy of a lab's year with rules and edits
-- of single rows, computed by the same kinds and factors as actual data and
-- kept apart from it. Reports, exports and totals never read these tables.

-- +goose Up
CREATE TABLE calc.scenarios (
    id                 uuid PRIMARY KEY,
    lab_id             uuid NOT NULL,
    year               integer NOT NULL,
    name               text NOT NULL,
    description        text NOT NULL DEFAULT '',
    -- The rules, a JSON array, applied in order.
    rules              jsonb NOT NULL DEFAULT '[]',
    -- Bumped by every change of rules or rows; results computed for an
    -- older revision are recomputed.
    revision           bigint NOT NULL DEFAULT 1,
    computed_revision  bigint NOT NULL DEFAULT 0,
    -- What the results were computed with: the factor dataset version in
    -- force for the year, the lab's country and contract. When any differs
    -- from today's, the results are recomputed.
    computed_basis     text NOT NULL DEFAULT '',
    factor_dataset     text NOT NULL DEFAULT '',
    factor_version     text NOT NULL DEFAULT '',
    computed_at        timestamptz,
    -- Rows copied, rows computed, and how many each rule changed.
    activities         bigint NOT NULL DEFAULT 0,
    computed_rows      bigint NOT NULL DEFAULT 0,
    rule_matches       jsonb NOT NULL DEFAULT '[]',
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lab_id, name)
);
CREATE INDEX scenarios_lab_idx ON calc.scenarios (lab_id, year);

-- The lab's activities of the year as they were when the scenario was made.
CREATE TABLE calc.scenario_activities (
    scenario_id uuid NOT NULL REFERENCES calc.scenarios ON DELETE CASCADE,
    activity_id uuid NOT NULL,
    kind        text NOT NULL,
    inputs      json NOT NULL
);
-- Each activity is copied once (ids are unique in calc.activities); an index
-- on the scenario alone keeps the copy of a large year cheap (one value,
-- appended), and finds one row among a scenario's for an edit.
CREATE INDEX scenario_activities_scenario_idx ON calc.scenario_activities (scenario_id);

-- Single rows changed, removed or added by hand: an edited row is computed
-- as given, and no rule applies to it.
CREATE TABLE calc.scenario_edits (
    scenario_id uuid NOT NULL REFERENCES calc.scenarios ON DELETE CASCADE,
    -- The copied activity's id, or a new id for an added row.
    row_id      uuid NOT NULL,
    added       boolean NOT NULL,
    removed     boolean NOT NULL,
    kind        text NOT NULL,
    -- The row's column values (inputs as computed, for an added or edited row).
    inputs      json NOT NULL DEFAULT '{}',
    edited_by   text NOT NULL,
    edited_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scenario_id, row_id)
);

-- The scenario's emissions summed as calc.rollups sums actual ones.
CREATE TABLE calc.scenario_rollups (
    scenario_id    uuid NOT NULL REFERENCES calc.scenarios ON DELETE CASCADE,
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
    entries        bigint NOT NULL,
    overridden     bigint NOT NULL,
    fallback       bigint NOT NULL,
    PRIMARY KEY (scenario_id, module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit)
);

-- +goose Down
DROP TABLE calc.scenario_rollups;
DROP TABLE calc.scenario_edits;
DROP TABLE calc.scenario_activities;
DROP TABLE calc.scenarios;
