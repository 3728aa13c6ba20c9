// Package pgtest gives each test its own PostgreSQL database: the service's
// migrations run once into a template database, and every test gets a fresh
// CREATE DATABASE ... TEMPLATE clone, dropped when the test ends.
//
// The server is the one DB_URL points at (default: 127.0.0.1:5432, user
// postgres); `make test` finds or starts it.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/platform/migrate"
)

// DefaultURL is the server used when DB_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Schema is one service's migrations.
type Schema struct {
	Name       string
	Migrations fs.FS
}

// NewPool returns a pool on a fresh database holding the given schemas,
// migrated. The database is dropped when the test ends.
func NewPool(t testing.TB, schemas ...Schema) *pgxpool.Pool {
	t.Helper()
	dbURL := NewDatabase(t, schemas...)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewDatabase creates a fresh migrated database and returns its URL, for
// tests that start service processes. It is dropped when the test ends.
func NewDatabase(t testing.TB, schemas ...Schema) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server := serverURL()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s (set DB_URL, or run the tests with `make test`, which starts one): %v", redact(server), err)
	}
	defer admin.Close(ctx)

	template, err := ensureTemplate(ctx, admin, server, schemas)
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	name := "co2test_" + randomSuffix()
	if err := cloneTemplate(ctx, admin, template, name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(server, name)
}

func serverURL() string {
	if value := os.Getenv("DB_URL"); value != "" {
		return value
	}
	return DefaultURL
}

// ensureTemplate returns the name of a template database for schemas,
// creating it if needed. The name carries a hash of the migrations, so a
// changed migration gets a new template. Concurrent test processes serialise
// on an advisory lock; the template appears under its final name only once
// fully migrated.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, server string, schemas []Schema) (string, error) {
	digest, err := migrationsDigest(schemas)
	if err != nil {
		return "", err
	}
	name := "co2tmpl_" + digest[:16]
	lockKey := int64(0)
	for _, b := range []byte(digest[:15]) {
		lockKey = lockKey<<4 | int64(hexValue(b))
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // the lock also ends with the connection

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, withDatabase(server, building))
	if err != nil {
		return "", err
	}
	for _, schema := range schemas {
		if err := migrate.Run(ctx, pool, schema.Name, schema.Migrations, "up", io.Discard); err != nil {
			pool.Close()
			return "", err
		}
	}
	pool.Close()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return name, nil
}

// cloneTemplate creates name from template, retrying while another session
// briefly holds the template (PostgreSQL refuses to copy a database in use).
func cloneTemplate(ctx context.Context, admin *pgx.Conn, template, name string) error {
	statement := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	for attempt := 0; ; attempt++ {
		_, err := admin.Exec(ctx, statement)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 50 || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func migrationsDigest(schemas []Schema) (string, error) {
	hash := sha256.New()
	for _, schema := range schemas {
		fmt.Fprintf(hash, "schema %s\n", schema.Name)
		err := fs.WalkDir(schema.Migrations, ".", func(path string, entry fs.DirEntry, err error) error {
			if err != nil || entry.IsDir() {
				return err
			}
			content, err := fs.ReadFile(schema.Migrations, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(hash, "%s %d\n", path, len(content))
			hash.Write(content)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("read %s migrations: %w", schema.Name, err)
		}
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

func hexValue(b byte) byte {
	if b >= 'a' {
		return b - 'a' + 10
	}
	return b - '0'
}

func withDatabase(server, database string) string {
	parsed, err := url.Parse(server)
	if err != nil {
		return server
	}
	parsed.Path = "/" + database
	return parsed.String()
}

func redact(server string) string {
	parsed, err := url.Parse(server)
	if err != nil {
		return "DB_URL"
	}
	return parsed.Redacted()
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
