-- Factor dataset versions as rows (uploaded, synced, activated per year),
-- the history of activations, and recalculations that keep what they
-- replaced.

-- +goose Up
-- A dataset version: the bundled default one, or an uploaded CSV that a
-- factors:sync job loads into calc.factors. Factors of a version are only
-- written by its sync job; once FINISHED the version never changes.
CREATE TABLE calc.factor_dataset_versions (
    id            uuid PRIMARY KEY,
    dataset       text NOT NULL,
    version       text NOT NULL,
    description   text NOT NULL DEFAULT '',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- QUEUED, RUNNING, FINISHED (factors loaded) or FAILED (see message and
    -- the row errors; no factor of it is written).
    state         text NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'FINISHED', 'FAILED')),
    message       text NOT NULL DEFAULT '',
    rows_total    bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    file_sha256   text NOT NULL DEFAULT '',
    file_bytes    bigint NOT NULL DEFAULT 0,
    finished_at   timestamptz,
    UNIQUE (dataset, version)
);

-- The uploaded file, in the chunks it arrived in, until its sync job ends.
CREATE TABLE calc.factor_upload_chunks (
    version_id uuid NOT NULL REFERENCES calc.factor_dataset_versions (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (version_id, seq)
);

-- Why rows of an uploaded file were refused: line (the header is line 1),
-- column and message.
CREATE TABLE calc.factor_sync_errors (
    version_id uuid NOT NULL REFERENCES calc.factor_dataset_versions (id) ON DELETE CASCADE,
    line       bigint NOT NULL,
    "column"   text NOT NULL,
    message    text NOT NULL,
    PRIMARY KEY (version_id, line, "column")
);

-- Which dataset version computes which year: the latest activation of a
-- year is in force; earlier ones are its history. A year without one uses
-- the bundled default dataset.
CREATE TABLE calc.factor_activations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year         integer NOT NULL,
    dataset      text NOT NULL,
    version      text NOT NULL,
    activated_by text NOT NULL,
    activated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX factor_activations_year_idx ON calc.factor_activations (year, id DESC);

-- A recalculation asked for per lab/year/kind: requested counts the asks,
-- done the ask the last finished recalculation answered. A task recomputes
-- until done catches up, so an ask made while it runs is not lost.
CREATE TABLE calc.recalc_requests (
    lab_id       uuid NOT NULL,
    year         integer NOT NULL,
    kind         text NOT NULL,
    requested    bigint NOT NULL DEFAULT 1,
    done         bigint NOT NULL DEFAULT 0,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lab_id, year, kind)
);

-- One recalculation of a lab/year/kind: what it computed with and what the
-- totals were before and after.
CREATE TABLE calc.recalculations (
    id             uuid PRIMARY KEY,
    lab_id         uuid NOT NULL,
    year           integer NOT NULL,
    kind           text NOT NULL,
    -- The dataset versions of the replaced emissions ("dataset version").
    from_versions  text[] NOT NULL DEFAULT '{}',
    to_dataset     text NOT NULL,
    to_version     text NOT NULL,
    activities     bigint NOT NULL DEFAULT 0,
    kg_before      double precision NOT NULL DEFAULT 0,
    kg_after       double precision NOT NULL DEFAULT 0,
    state          text NOT NULL CHECK (state IN ('FINISHED', 'FAILED')),
    message        text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recalculations_lab_idx ON calc.recalculations (lab_id, year, started_at DESC);

-- Emissions a recalculation replaced, as they were, with the
-- recalculation that replaced them: older results stay traceable.
CREATE TABLE calc.superseded_emissions (
    recalculation_id uuid NOT NULL,
    superseded_at    timestamptz NOT NULL DEFAULT now(),
    activity_id      uuid NOT NULL,
    variant          text NOT NULL,
    lab_id           uuid NOT NULL,
    year             integer NOT NULL,
    module           text NOT NULL,
    emission_type    text NOT NULL,
    scope            smallint NOT NULL,
    quantity         double precision NOT NULL,
    quantity_unit    text NOT NULL,
    kg_co2e          double precision NOT NULL,
    factor_id        uuid,
    factor_dataset   text NOT NULL,
    factor_version   text NOT NULL,
    uncertainty_pct  double precision NOT NULL,
    overridden       boolean NOT NULL,
    fallback         boolean NOT NULL
);
CREATE INDEX superseded_emissions_activity_idx ON calc.superseded_emissions (activity_id);
CREATE INDEX superseded_emissions_recalculation_idx ON calc.superseded_emissions (recalculation_id);

-- +goose Down
DROP TABLE calc.superseded_emissions;
DROP TABLE calc.recalculations;
DROP TABLE calc.recalc_requests;
DROP TABLE calc.factor_activations;
DROP TABLE calc.factor_sync_errors;
DROP TABLE calc.factor_upload_chunks;
DROP TABLE calc.factor_dataset_versions;
