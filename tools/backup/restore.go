package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrHoldsData is returned by Restore when the target database already
// holds data and replacing it was not asked for.
var ErrHoldsData = errors.New("the database already holds data")

// Restore restores the archive file into the database dbURL names, in one
// transaction (all of it or nothing):
//   - a database that does not exist is created (and dropped again if the
//     restore fails);
//   - an empty one is restored into;
//   - one that holds data is refused unless replace: then the archive is
//     restored into a new database beside it, and only once that succeeded
//     are the two swapped, the current one kept as <name>_before_restore_<time>
//     for the operator to drop. Nobody may be connected to it (stop the
//     system first).
//
// It returns the name the replaced database was kept under ("" when none
// was replaced).
func Restore(ctx context.Context, dbURL, file string, replace bool) (kept string, err error) {
	target, err := databaseOf(dbURL)
	if err != nil {
		return "", err
	}
	maintenanceURL, err := withDatabase(dbURL, "postgres")
	if err != nil {
		return "", err
	}
	if target == "postgres" || strings.HasPrefix(target, "template") {
		return "", fmt.Errorf("restore into a database of the system's own, not %s", target)
	}
	admin, err := pgx.Connect(ctx, maintenanceURL)
	if err != nil {
		return "", fmt.Errorf("connect to the server's postgres database (to create or swap %s): %w", target, err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	clients, err := FindClients(ctx, maintenanceURL)
	if err != nil {
		return "", err
	}
	// A file that is not a readable archive is refused before anything changes.
	if _, err := Inspect(ctx, clients, file); err != nil {
		return "", err
	}

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", target).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		return "", restoreInto(ctx, admin, clients, dbURL, target, file, true)
	}
	held, err := heldData(ctx, dbURL)
	if err != nil {
		return "", err
	}
	if held == "" {
		return "", restoreInto(ctx, admin, clients, dbURL, target, file, false)
	}
	if !replace {
		return "", fmt.Errorf("%w: %s holds %s; to replace it, stop the system and restore again with replace (make restore file=%s replace=1): the backup is restored beside it and swapped in, the current database kept", ErrHoldsData, target, held, file)
	}
	if err := noOtherConnections(ctx, admin, target); err != nil {
		return "", err
	}
	stamp := time.Now().UTC().Format("20060102150405")
	restoring := databaseName(target, "_restoring_"+stamp)
	kept = databaseName(target, "_before_restore_"+stamp)
	restoringURL, err := withDatabase(dbURL, restoring)
	if err != nil {
		return "", err
	}
	if err := restoreInto(ctx, admin, clients, restoringURL, restoring, file, true); err != nil {
		return "", err
	}
	// Both renames or neither.
	err = pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{target}.Sanitize()+" RENAME TO "+pgx.Identifier{kept}.Sanitize()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{restoring}.Sanitize()+" RENAME TO "+pgx.Identifier{target}.Sanitize())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("swap the restored database in (it is restored as %s; %s is unchanged): %w", restoring, target, err)
	}
	return kept, nil
}

// restoreInto runs pg_restore into database name (created first when
// create, and dropped again if the restore fails), then refreshes the
// planner's statistics, which an archive does not carry.
func restoreInto(ctx context.Context, admin *pgx.Conn, clients Clients, dbURL, name, file string, create bool) error {
	if create {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	if err := run(ctx, dbURL, clients.PgRestore, "--exit-on-error", "--single-transaction", file); err != nil {
		if create {
			if _, dropErr := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); dropErr != nil {
				err = errors.Join(err, fmt.Errorf("drop the database created for the restore, %s: %w", name, dropErr))
			}
		}
		return fmt.Errorf("restore %s into %s (nothing restored): %w", file, name, err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze the restored database %s: %w", name, err)
	}
	return nil
}

// heldData describes what the database holds besides an empty public
// schema ("" for nothing).
func heldData(ctx context.Context, dbURL string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schemas string
	var publicRelations int
	err = conn.QueryRow(ctx, `
		SELECT coalesce((SELECT string_agg(nspname, ', ' ORDER BY nspname) FROM pg_namespace
		                 WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'), ''),
		       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')`).
		Scan(&schemas, &publicRelations)
	if err != nil {
		return "", fmt.Errorf("what the database holds: %w", err)
	}
	switch {
	case schemas != "" && publicRelations > 0:
		return fmt.Sprintf("the schemas %s and %d relations in public", schemas, publicRelations), nil
	case schemas != "":
		return "the schemas " + schemas, nil
	case publicRelations > 0:
		return fmt.Sprintf("%d relations in public", publicRelations), nil
	}
	return "", nil
}

// noOtherConnections fails while anyone is connected to database name. A
// session that just closed (ours, that looked at what it holds) may linger
// a moment: it is given two seconds to go.
func noOtherConnections(ctx context.Context, admin *pgx.Conn, name string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		var connections int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name).Scan(&connections); err != nil {
			return err
		}
		if connections == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d connections to %s: stop the system (and anything else connected to it) before replacing it", connections, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// databaseName is base with suffix, base cut so the name fits PostgreSQL's
// 63 bytes.
func databaseName(base, suffix string) string {
	if len(base)+len(suffix) > 63 {
		base = base[:63-len(suffix)]
	}
	return base + suffix
}
