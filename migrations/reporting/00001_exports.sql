-- Detailed exports: the job row and the finished ZIP, stored in chunks in
-- PostgreSQL (the source of truth, like ingest's uploaded files); the asynq
-- task in Redis only wakes a worker.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS reporting;

CREATE TABLE reporting.exports (
    id              uuid PRIMARY KEY,
    lab_id          uuid NOT NULL,
    year            integer NOT NULL,
    include_sublabs boolean NOT NULL DEFAULT false,
    -- The labs exported: the lab, and its sub-labs when included.
    lab_ids         uuid[] NOT NULL,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    error           text NOT NULL DEFAULT '',
    rows_written    bigint NOT NULL DEFAULT 0,
    size_bytes      bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX exports_lab_idx ON reporting.exports (lab_id, created_at);
CREATE INDEX exports_queued_idx ON reporting.exports (created_at) WHERE status IN ('queued', 'running');

-- The ZIP of a finished export, in order.
CREATE TABLE reporting.export_chunks (
    export_id uuid NOT NULL REFERENCES reporting.exports (id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (export_id, seq)
);

-- +goose Down
DROP TABLE reporting.export_chunks;
DROP TABLE reporting.exports;
