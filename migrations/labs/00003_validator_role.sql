-- A lab role that validates the lab's activity data (and its sub-labs').

-- +goose Up
ALTER TABLE labs.memberships DROP CONSTRAINT memberships_role;
ALTER TABLE labs.memberships ADD CONSTRAINT memberships_role CHECK (role IN ('lab_manager', 'lab_member', 'validator'));

-- +goose Down
DELETE FROM labs.memberships WHERE role = 'validator';
ALTER TABLE labs.memberships DROP CONSTRAINT memberships_role;
ALTER TABLE labs.memberships ADD CONSTRAINT memberships_role CHECK (role IN ('lab_manager', 'lab_member'));
