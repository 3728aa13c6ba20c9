-- The calc service's audit trail: every change to its data and settings, one
-- row each, written in the transaction of the change (ADR 018). Rows are
-- never changed nor removed: a trigger refuses UPDATE, DELETE and TRUNCATE,
-- whoever asks, but for the rows of a lab purged for good, in its purge.

-- +goose Up
CREATE TABLE calc.audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    actor_subject text NOT NULL,
    actor_email   text NOT NULL DEFAULT '',
    lab_id        uuid,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    action        text NOT NULL,
    before        jsonb,
    after         jsonb,
    trace_id      text NOT NULL DEFAULT ''
);

-- The trail is read newest first, for all labs or for some.
CREATE INDEX audit_events_time_idx ON calc.audit_events (occurred_at DESC, id DESC);
CREATE INDEX audit_events_lab_time_idx ON calc.audit_events (lab_id, occurred_at DESC, id DESC);

-- +goose StatementBegin
CREATE FUNCTION calc.audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A lab purged for good takes its trail with it (ADR 020): the purge's
    -- transaction names the lab, and only its rows may be deleted.
    IF TG_OP = 'DELETE' AND OLD.lab_id IS NOT NULL
       AND OLD.lab_id::text = current_setting('co2.purging_lab', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'calc.audit_events is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON calc.audit_events
    FOR EACH ROW EXECUTE FUNCTION calc.audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON calc.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION calc.audit_events_append_only();

-- +goose Down
DROP TABLE calc.audit_events;
DROP FUNCTION calc.audit_events_append_only();
