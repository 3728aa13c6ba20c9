-- Lab roles held by people: a member is named by the OIDC subject of their
-- token, or by their email address until they first sign in.

-- +goose Up
CREATE TABLE labs.memberships (
    lab_id     uuid NOT NULL REFERENCES labs.labs (id) ON DELETE CASCADE,
    subject    text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT '',
    role       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    CONSTRAINT memberships_names_someone CHECK (subject <> '' OR email <> ''),
    CONSTRAINT memberships_role CHECK (role IN ('lab_manager', 'lab_member')),
    CONSTRAINT memberships_email_lower CHECK (email = lower(email))
);

CREATE UNIQUE INDEX memberships_lab_subject_key ON labs.memberships (lab_id, subject) WHERE subject <> '';
CREATE UNIQUE INDEX memberships_lab_email_key ON labs.memberships (lab_id, email) WHERE subject = '';
CREATE INDEX memberships_subject_idx ON labs.memberships (subject) WHERE subject <> '';
CREATE INDEX memberships_email_idx ON labs.memberships (email) WHERE email <> '';

-- +goose Down
DROP TABLE labs.memberships;
