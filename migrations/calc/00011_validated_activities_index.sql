-- Reports sum the validated activities' emissions when asked (ADR 019).
-- Without an index of their own, each report read every activity of the
-- lab's year to find them (and joined a lab of 5 million rows to its
-- emissions: a second or more a report). Only validated rows are indexed: an import
-- writes its rows pending and pays nothing for it.

-- +goose Up
CREATE INDEX activities_validated_idx ON calc.activities (lab_id, year) WHERE state = 'validated';

-- +goose Down
DROP INDEX calc.activities_validated_idx;
