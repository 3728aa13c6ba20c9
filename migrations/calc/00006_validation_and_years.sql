-- The data lifecycle: every activity is pending, validated or rejected;
-- a lab's reporting year is open or closed (ADR 019).

-- +goose Up
-- Constant defaults: adding them rewrites no row, and an import's COPY,
-- which does not name these columns, writes its rows pending at no cost.
ALTER TABLE calc.activities
    ADD COLUMN state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'validated', 'rejected')),
    -- Why it was rejected; empty otherwise.
    ADD COLUMN state_reason text NOT NULL DEFAULT '',
    -- Who validated or rejected it, and when.
    ADD COLUMN state_by     text NOT NULL DEFAULT '',
    ADD COLUMN state_at     timestamptz;

-- A lab's reporting year, once someone closed (or reopened) it; a year
-- without a row is open. lab_id 00000000-0000-0000-0000-000000000000 is
-- the institution's closing of a year for every lab: a lab's own row, when
-- there is one, says more than it.
CREATE TABLE calc.reporting_years (
    lab_id     uuid NOT NULL,
    year       integer NOT NULL,
    state      text NOT NULL CHECK (state IN ('open', 'closed')),
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lab_id, year)
);

-- An admin's activation that recalculates closed years too.
ALTER TABLE calc.recalc_requests ADD COLUMN forced boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE calc.recalc_requests DROP COLUMN forced;
DROP TABLE calc.reporting_years;
ALTER TABLE calc.activities DROP COLUMN state, DROP COLUMN state_reason, DROP COLUMN state_by, DROP COLUMN state_at;
