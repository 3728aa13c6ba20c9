-- Watchers of an export (WatchExport, the gateway's Server-Sent Events)
-- learn of its changes by LISTEN on reporting_export_changed: every change
-- users see (status, error, rows, size, finishing) notifies the export's
-- id, whichever path wrote it (a worker, the poller, retention, a purge).
-- A notification is sent at commit, so a watcher that re-reads the row sees
-- the change. Lease renewals notify nothing.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION reporting.notify_export_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reporting_export_changed', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER exports_changed
AFTER UPDATE ON reporting.exports
FOR EACH ROW
WHEN ((OLD.status, OLD.error, OLD.rows_written, OLD.size_bytes, OLD.finished_at, OLD.attempts)
      IS DISTINCT FROM
      (NEW.status, NEW.error, NEW.rows_written, NEW.size_bytes, NEW.finished_at, NEW.attempts))
EXECUTE FUNCTION reporting.notify_export_changed();

-- A deleted export (a purge) ends its watchers too.
CREATE TRIGGER exports_deleted
AFTER DELETE ON reporting.exports
FOR EACH ROW
EXECUTE FUNCTION reporting.notify_export_changed();

-- +goose Down
DROP TRIGGER exports_deleted ON reporting.exports;
DROP TRIGGER exports_changed ON reporting.exports;
DROP FUNCTION reporting.notify_export_changed();
