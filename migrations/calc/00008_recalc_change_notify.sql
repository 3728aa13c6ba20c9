-- Watchers of a lab's recalculations (WatchRecalculations, the gateway's
-- Server-Sent Events) learn of changes by LISTEN on calc_recalc_changed:
-- an ask (a new one, or one asked again) and a recalculation answering it
-- notify the lab's id. A notification is sent at commit, so a watcher that
-- re-reads sees the change.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION calc.notify_recalc_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('calc_recalc_changed', NEW.lab_id::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER recalc_requests_changed
AFTER INSERT OR UPDATE ON calc.recalc_requests
FOR EACH ROW
EXECUTE FUNCTION calc.notify_recalc_changed();

CREATE TRIGGER recalculations_recorded
AFTER INSERT ON calc.recalculations
FOR EACH ROW
EXECUTE FUNCTION calc.notify_recalc_changed();

-- +goose Down
DROP TRIGGER recalculations_recorded ON calc.recalculations;
DROP TRIGGER recalc_requests_changed ON calc.recalc_requests;
DROP FUNCTION calc.notify_recalc_changed();
