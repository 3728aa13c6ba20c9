-- A lab's declared electricity supply per year: the supplier's or
-- contract's factor for market-based scope 2.

-- +goose Up
CREATE TABLE calc.electricity_contracts (
    lab_id          uuid NOT NULL,
    year            integer NOT NULL,
    supplier        text NOT NULL,
    kg_co2e_per_kwh double precision NOT NULL CHECK (kg_co2e_per_kwh >= 0),
    uncertainty_pct double precision NOT NULL DEFAULT 0 CHECK (uncertainty_pct >= 0),
    source          text NOT NULL,
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lab_id, year)
);

-- +goose Down
DROP TABLE calc.electricity_contracts;
