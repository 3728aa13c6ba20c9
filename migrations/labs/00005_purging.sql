-- A lab being purged (ADR 020): marked first, so nothing new is written to
-- it and it no longer shows, then its data goes from every service, then
-- its row. A purge that stopped half-way is repeated from the mark.

-- +goose Up
ALTER TABLE labs.labs ADD COLUMN purging_at timestamptz;

-- +goose Down
ALTER TABLE labs.labs DROP COLUMN purging_at;
