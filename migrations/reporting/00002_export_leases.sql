-- Exports get the lease import jobs have: the worker writing an export
-- holds it until locked_until and renews that while it works; the
-- safety-net poller queues again the queued exports whose task was lost
-- (updated_at says when one was last queued) and retries, or fails, the
-- running exports whose lease expired, within max_attempts. The ZIP of a
-- done export is deleted once EXPORT_RETENTION has passed: the row stays,
-- as expired.

-- +goose Up
ALTER TABLE reporting.exports
    ADD COLUMN max_attempts integer NOT NULL DEFAULT 3,
    ADD COLUMN locked_by    text NOT NULL DEFAULT '',
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();
-- Exports running under the previous version had no lease: the poller
-- takes them as expired, and retries them.
UPDATE reporting.exports SET locked_until = now() WHERE status = 'running';

-- The poller's two questions: queued exports, running ones whose lease ended.
DROP INDEX reporting.exports_queued_idx;
CREATE INDEX exports_queued_idx ON reporting.exports (updated_at) WHERE status = 'queued';
CREATE INDEX exports_running_idx ON reporting.exports (locked_until) WHERE status = 'running';

ALTER TABLE reporting.exports DROP CONSTRAINT exports_status_check;
ALTER TABLE reporting.exports ADD CONSTRAINT exports_status_check
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired'));
-- The retention's question: done exports, oldest first.
CREATE INDEX exports_done_idx ON reporting.exports (finished_at) WHERE status = 'done';

-- +goose Down
DROP INDEX reporting.exports_done_idx;
UPDATE reporting.exports SET status = 'failed', error = 'the ZIP was deleted after its retention' WHERE status = 'expired';
ALTER TABLE reporting.exports DROP CONSTRAINT exports_status_check;
ALTER TABLE reporting.exports ADD CONSTRAINT exports_status_check
    CHECK (status IN ('queued', 'running', 'done', 'failed'));
DROP INDEX reporting.exports_running_idx;
DROP INDEX reporting.exports_queued_idx;
CREATE INDEX exports_queued_idx ON reporting.exports (created_at) WHERE status IN ('queued', 'running');
ALTER TABLE reporting.exports
    DROP COLUMN updated_at,
    DROP COLUMN locked_until,
    DROP COLUMN locked_by,
    DROP COLUMN max_attempts;
