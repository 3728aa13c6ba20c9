-- The register of labs: institutional code, hierarchy, country.

-- +goose Up
-- The service creates its schema before migrating (goose keeps its version
-- table there); stating it here also tells sqlc.
CREATE SCHEMA IF NOT EXISTS labs;

CREATE TABLE labs.labs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    parent_id   uuid REFERENCES labs.labs (id) ON DELETE RESTRICT,
    country     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz,
    CONSTRAINT labs_not_own_parent CHECK (parent_id <> id),
    CONSTRAINT labs_country_alpha2 CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT labs_code_length CHECK (char_length(code) BETWEEN 1 AND 64),
    CONSTRAINT labs_name_length CHECK (char_length(name) BETWEEN 1 AND 200)
);

-- Codes are unique whatever their case; lists are ordered by this key.
CREATE UNIQUE INDEX labs_code_key ON labs.labs (lower(code));
CREATE INDEX labs_parent_id_idx ON labs.labs (parent_id);

-- +goose Down
DROP TABLE labs.labs;
