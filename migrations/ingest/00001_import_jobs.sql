-- Import jobs and their files. PostgreSQL holds the truth: the asynq task in
-- Redis is only a wake-up call, rebuilt by the poller when lost.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.data_ingestion_jobs (
    id               uuid PRIMARY KEY,
    lab_id           uuid NOT NULL,
    year             integer NOT NULL,
    kind             text NOT NULL,
    module           text NOT NULL,
    target_type      text NOT NULL DEFAULT 'activities',
    method           text NOT NULL DEFAULT 'csv',
    mode             text NOT NULL CHECK (mode IN ('replace', 'append')),
    state            text NOT NULL CHECK (state IN ('NOT_STARTED', 'QUEUED', 'RUNNING', 'FINISHED')),
    result           text NOT NULL DEFAULT '' CHECK (result IN ('', 'SUCCESS', 'WARNING', 'ERROR')),
    status_message   text NOT NULL DEFAULT '',
    rows_total       bigint NOT NULL DEFAULT 0,
    rows_ok          bigint NOT NULL DEFAULT 0,
    rows_rejected    bigint NOT NULL DEFAULT 0,
    rows_processed   bigint NOT NULL DEFAULT 0,
    filename         text NOT NULL DEFAULT '',
    file_size        bigint NOT NULL DEFAULT 0,
    file_sha256      text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    run_after        timestamptz NOT NULL DEFAULT now(),
    locked_by        text NOT NULL DEFAULT '',
    locked_until     timestamptz,
    heartbeat_at     timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    CONSTRAINT jobs_result_when_finished CHECK ((state = 'FINISHED') = (result <> ''))
);

CREATE INDEX jobs_lab_idx ON ingest.data_ingestion_jobs (lab_id, created_at DESC, id);
-- The poller's two questions: queued jobs, running jobs whose lease ended.
CREATE INDEX jobs_queued_idx ON ingest.data_ingestion_jobs (run_after) WHERE state = 'QUEUED';
CREATE INDEX jobs_running_idx ON ingest.data_ingestion_jobs (locked_until) WHERE state = 'RUNNING';

-- The uploaded file, in chunks, written in the transaction that creates the job.
CREATE TABLE ingest.import_file_chunks (
    job_id  uuid NOT NULL REFERENCES ingest.data_ingestion_jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The first rejected rows of a job (all are counted in rows_rejected).
CREATE TABLE ingest.import_row_errors (
    job_id  uuid NOT NULL REFERENCES ingest.data_ingestion_jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    row_no  bigint NOT NULL,
    col     text NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- +goose Down
DROP TABLE ingest.import_row_errors;
DROP TABLE ingest.import_file_chunks;
DROP TABLE ingest.data_ingestion_jobs;
