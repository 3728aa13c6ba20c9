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

-- A lab's year as it stands: its own row, else the institution's, else open.
-- +goose StatementBegin
CREATE FUNCTION calc.year_state(lab uuid, reporting_year integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT state FROM calc.reporting_years WHERE lab_id = lab AND year = reporting_year),
        (SELECT state FROM calc.reporting_years
         WHERE lab_id = '00000000-0000-0000-0000-000000000000' AND year = reporting_year),
        'open')
$$;
-- +goose StatementEnd

-- An admin's activation that recalculates closed years too.
ALTER TABLE calc.recalc_requests ADD COLUMN forced boolean NOT NULL DEFAULT false;
-- A recalculation of a closed year is SKIPPED (nothing changed).
ALTER TABLE calc.recalculations DROP CONSTRAINT recalculations_state_check;
ALTER TABLE calc.recalculations ADD CONSTRAINT recalculations_state_check CHECK (state IN ('FINISHED', 'FAILED', 'SKIPPED'));

-- +goose Down
DELETE FROM calc.recalculations WHERE state = 'SKIPPED';
ALTER TABLE calc.recalculations DROP CONSTRAINT recalculations_state_check;
ALTER TABLE calc.recalculations ADD CONSTRAINT recalculations_state_check CHECK (state IN ('FINISHED', 'FAILED'));
ALTER TABLE calc.recalc_requests DROP COLUMN forced;
DROP FUNCTION calc.year_state(uuid, integer);
DROP TABLE calc.reporting_years;
ALTER TABLE calc.activities DROP COLUMN state, DROP COLUMN state_reason, DROP COLUMN state_by, DROP COLUMN state_at;
