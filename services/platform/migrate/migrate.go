// Package migrate applies a service's embedded goose migrations to its own
// schema, recording versions in that schema's goose_db_version table.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Commands lists what Run accepts.
const Commands = "up, down or status"

// Run carries out command (up, down or status) for the migrations in fsys on
// schema, creating the schema first. A PostgreSQL advisory lock keeps
// replicas that start together from migrating twice.
func Run(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS, command string, out io.Writer) error {
	provider, closeDB, err := newProvider(ctx, pool, schema, fsys)
	if err != nil {
		return err
	}
	defer closeDB()
	switch command {
	case "up":
		results, err := provider.Up(ctx)
		for _, result := range results {
			fmt.Fprintf(out, "%s: applied %s\n", schema, result.Source.Path)
		}
		if err != nil {
			return fmt.Errorf("migrate %s up: %w", schema, err)
		}
		if len(results) == 0 {
			fmt.Fprintf(out, "%s: up to date\n", schema)
		}
	case "down":
		result, err := provider.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Fprintf(out, "%s: nothing to roll back\n", schema)
			return nil
		}
		if err != nil {
			return fmt.Errorf("migrate %s down: %w", schema, err)
		}
		fmt.Fprintf(out, "%s: rolled back %s\n", schema, result.Source.Path)
	case "status":
		statuses, err := provider.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s status: %w", schema, err)
		}
		for _, status := range statuses {
			applied := "pending"
			if status.State == goose.StateApplied {
				applied = "applied " + status.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(out, "%s: %-40s %s\n", schema, status.Source.Path, applied)
		}
	default:
		return fmt.Errorf("unknown migrate command %q: want %s", command, Commands)
	}
	return nil
}

func newProvider(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) (*goose.Provider, func(), error) {
	db := stdlib.OpenDBFromPool(pool)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	store, err := database.NewStore(database.DialectPostgres, schema+".goose_db_version")
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	// One lock per schema: services migrating side by side do not wait for
	// each other, replicas of one service do.
	lockID := fnv.New64a()
	lockID.Write([]byte("goose:" + schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(lockID.Sum64() >> 1)))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	provider, err := goose.NewProvider("", db, fsys, goose.WithStore(store), goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("load %s migrations: %w", schema, err)
	}
	return provider, func() { db.Close() }, nil
}
