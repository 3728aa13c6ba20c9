-- Reduction objectives (ADR 023): one per lab, and one for the institution
-- as a whole (lab_id NULL). What an objective allows each year is computed
-- when asked, from the baseline year's emissions as they are then: a
-- change of data or factors moves the trajectory and the alerts with it.

-- +goose Up
CREATE TABLE reporting.objectives (
    id              uuid PRIMARY KEY,
    -- NULL: the institution's objective (every lab summed).
    lab_id          uuid UNIQUE NULLS NOT DISTINCT,
    -- The lab's sub-labs count towards its objective.
    include_sublabs boolean NOT NULL DEFAULT false,
    baseline_year   integer NOT NULL,
    target_year     integer NOT NULL CHECK (target_year > baseline_year),
    -- Percent below the baseline's total by the target year.
    reduction_pct   double precision NOT NULL CHECK (reduction_pct >= 0 AND reduction_pct <= 100),
    -- Optional objectives of modules ({"travel": 60}) and scopes ({"1": 80}),
    -- percent, reached linearly by the target year.
    module_reductions jsonb NOT NULL DEFAULT '{}',
    scope_reductions  jsonb NOT NULL DEFAULT '{}',
    -- Milestones of the overall reduction ({"2027": 20}, percent); between
    -- two, the trajectory is linear.
    milestones      jsonb NOT NULL DEFAULT '{}',
    -- A year over its allowed total by more than this percent is flagged.
    alert_margin_pct double precision NOT NULL DEFAULT 0 CHECK (alert_margin_pct >= 0),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE reporting.objectives;
