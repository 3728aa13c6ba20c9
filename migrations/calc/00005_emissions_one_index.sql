-- Emissions keep one index, on their activity. The (lab_id, year, module)
-- index cost every COPYed emission about as much as the row itself; what
-- read through it (a replace import removing and subtracting a lab/year/
-- kind's CSV rows) now goes through the activities' index, then each
-- activity's emissions. Reports read the rollups, never the emissions.

-- +goose Up
DROP INDEX calc.emissions_rollup_idx;

-- +goose Down
CREATE INDEX emissions_rollup_idx ON calc.emissions (lab_id, year, module);
