-- Watchers of an import (WatchImport, the gateway's Server-Sent Events)
-- learn of its changes by LISTEN on ingest_job_changed: every change users
-- see (state, result, counts, progress, cancellation, attempts) notifies
-- the job's id, whichever path wrote it (a worker, the poller, a user, a
-- purge). A notification is sent at commit, so a watcher that re-reads the
-- row sees the change. Heartbeats that only move the lease notify nothing.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION ingest.notify_job_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ingest_job_changed', NEW.id::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER data_ingestion_jobs_changed
AFTER UPDATE ON ingest.data_ingestion_jobs
FOR EACH ROW
WHEN ((OLD.state, OLD.result, OLD.status_message, OLD.rows_total, OLD.rows_ok, OLD.rows_rejected,
       OLD.rows_processed, OLD.cancel_requested, OLD.attempts)
      IS DISTINCT FROM
      (NEW.state, NEW.result, NEW.status_message, NEW.rows_total, NEW.rows_ok, NEW.rows_rejected,
       NEW.rows_processed, NEW.cancel_requested, NEW.attempts))
EXECUTE FUNCTION ingest.notify_job_changed();

-- +goose Down
DROP TRIGGER data_ingestion_jobs_changed ON ingest.data_ingestion_jobs;
DROP FUNCTION ingest.notify_job_changed();
