-- Purging a lab (ADR 020) deletes every export that holds its data: its
-- own, and its parents' exports that included it as a sub-lab. This index
-- finds the latter.

-- +goose Up
CREATE INDEX exports_lab_ids_idx ON reporting.exports USING gin (lab_ids);

-- +goose Down
DROP INDEX reporting.exports_lab_ids_idx;
