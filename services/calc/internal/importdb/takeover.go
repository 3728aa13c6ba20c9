package importdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// importSession is the application_name of the session applying an
// import.
func importSession(importID uuid.UUID) string { return "co2-calc import " + importID.String() }

// takeOverPoll is how long the claim waits for a lock before it looks for
// a stale session of the same job.
const takeOverPoll = "1s"

// takeOver runs claim, which may wait on a lock held by another session
// named session: a session of an earlier attempt at the same job. Each
// time the wait passes takeOverPoll, such sessions are ended, and claim is
// tried again; it waits on other sessions (other jobs) as long as ctx
// lasts.
func takeOver(ctx context.Context, tx pgx.Tx, session string, claim func() error) error {
	for {
		if _, err := tx.Exec(ctx, "SAVEPOINT take_over; SET LOCAL lock_timeout = '"+takeOverPoll+"'"); err != nil {
			return err
		}
		err := claim()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// The lock timeout was for the claim alone.
			if _, releaseErr := tx.Exec(ctx, "RELEASE SAVEPOINT take_over; SET LOCAL lock_timeout = DEFAULT"); releaseErr != nil {
				return releaseErr
			}
			return err
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT take_over"); err != nil {
			return err
		}
		// Ended sessions roll back; PostgreSQL logs each ending.
		if _, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1 AND pid <> pg_backend_pid() AND datname = current_database() AND usename = current_user`, session); err != nil {
			return fmt.Errorf("end the sessions of earlier attempts: %w", err)
		}
	}
}
