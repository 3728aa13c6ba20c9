package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// system returns a database migrated like the system's, holding one lab.
func system(t *testing.T) string {
	t.Helper()
	dbURL := pgtest.NewDatabase(t,
		pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations},
		pgtest.Schema{Name: "ingest", Migrations: ingestmigrations.Migrations},
		pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations},
		pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations})
	mustExec(t, dbURL, "INSERT INTO labs.labs (code, name, country) VALUES ('LAB', 'Lab', 'CH')")
	return dbURL
}

func mustExec(t *testing.T, dbURL, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func labNames(t *testing.T, dbURL string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var names string
	if err := conn.QueryRow(context.Background(), "SELECT string_agg(name, ',' ORDER BY name) FROM labs.labs").Scan(&names); err != nil {
		t.Fatal(err)
	}
	return names
}

var scratches atomic.Int64

// scratch returns the URL of a database name on the test server, dropped
// (with whatever was swapped out beside it) when the test ends.
func scratch(t *testing.T, source string) string {
	t.Helper()
	name := fmt.Sprintf("co2restore_%d_%d", os.Getpid(), scratches.Add(1))
	target, err := withDatabase(source, name)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := withDatabase(source, "postgres")
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		rows, _ := conn.Query(context.Background(), "SELECT datname FROM pg_database WHERE datname LIKE $1", name+"%")
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, name := range names {
			if _, err := conn.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Error(err)
			}
		}
	})
	return target
}

func TestABackupRestoresIntoANewDatabase(t *testing.T) {
	ctx := context.Background()
	source := system(t)
	file := filepath.Join(t.TempDir(), "co2.dump")
	summary, err := Create(ctx, source, file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(summary.Schemas, ",") != "calc,ingest,labs,reporting" || summary.Tables < 10 {
		t.Fatalf("summary %v", summary)
	}
	if _, err := os.Stat(file + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the partial file is left: %v", err)
	}
	target := scratch(t, source)
	if kept, err := Restore(ctx, target, file, false); err != nil || kept != "" {
		t.Fatalf("restore into a new database: %q %v", kept, err)
	}
	if got := labNames(t, target); got != "Lab" {
		t.Fatalf("labs %q", got)
	}
	// The migrations' version tables came along: the services find their
	// schemas up to date.
	mustExec(t, target, "SELECT 1 FROM labs.goose_db_version, calc.goose_db_version, ingest.goose_db_version, reporting.goose_db_version")
}

func TestADatabaseHoldingDataIsReplacedOnlyWhenAskedAndKept(t *testing.T) {
	ctx := context.Background()
	source := system(t)
	file := filepath.Join(t.TempDir(), "co2.dump")
	if _, err := Create(ctx, source, file); err != nil {
		t.Fatal(err)
	}
	target := scratch(t, source)
	if _, err := Restore(ctx, target, file, false); err != nil {
		t.Fatal(err)
	}
	mustExec(t, target, "INSERT INTO labs.labs (code, name, country) VALUES ('NEW', 'Made after the backup', 'CH')")

	_, err := Restore(ctx, target, file, false)
	if !errors.Is(err, ErrHoldsData) || !strings.Contains(err.Error(), "replace=1") {
		t.Fatalf("over data without replace: %v", err)
	}
	// Someone connected: refused, nothing changed.
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, target, file, true); err == nil || !strings.Contains(err.Error(), "stop the system") {
		t.Fatalf("replace while connected: %v", err)
	}
	conn.Close(ctx)
	kept, err := Restore(ctx, target, file, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := labNames(t, target); got != "Lab" {
		t.Fatalf("restored labs %q", got)
	}
	keptURL, _ := withDatabase(target, kept)
	if got := labNames(t, keptURL); got != "Lab,Made after the backup" {
		t.Fatalf("kept database %s holds %q", kept, got)
	}
}

func TestABadArchiveChangesNothing(t *testing.T) {
	ctx := context.Background()
	source := system(t)
	file := filepath.Join(t.TempDir(), "co2.dump")
	if _, err := Create(ctx, source, file); err != nil {
		t.Fatal(err)
	}
	target := scratch(t, source)
	name, _ := databaseOf(target)
	databases := func() string {
		t.Helper()
		conn, err := pgx.Connect(ctx, source)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var names string
		if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(datname, ','), '') FROM pg_database WHERE datname LIKE $1", name+"%").Scan(&names); err != nil {
			t.Fatal(err)
		}
		return names
	}

	// A truncated file, or none, is refused before anything is made.
	raw, _ := os.ReadFile(file)
	cut := filepath.Join(t.TempDir(), "cut.dump")
	if err := os.WriteFile(cut, raw[:len(raw)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{cut, filepath.Join(t.TempDir(), "missing.dump")} {
		if _, err := Restore(ctx, target, bad, false); err == nil {
			t.Fatalf("%s restored", bad)
		}
	}
	if got := databases(); got != "" {
		t.Fatalf("databases left: %s", got)
	}

	// An archive that reads but fails halfway: a table owned by a role the
	// server no longer has.
	owner := fmt.Sprintf("co2_gone_%d", os.Getpid())
	mustExec(t, source, "CREATE ROLE "+owner)
	t.Cleanup(func() { mustExec(t, source, "DROP ROLE IF EXISTS "+owner) })
	mustExec(t, source, "CREATE TABLE labs.owned (x int); ALTER TABLE labs.owned OWNER TO "+owner)
	orphan := filepath.Join(t.TempDir(), "orphan.dump")
	if _, err := Create(ctx, source, orphan); err != nil {
		t.Fatal(err)
	}
	mustExec(t, source, "DROP TABLE labs.owned; DROP ROLE "+owner)
	if _, err := Restore(ctx, target, orphan, false); err == nil || !strings.Contains(err.Error(), owner) {
		t.Fatalf("restore needing a missing role: %v", err)
	}
	if got := databases(); got != "" {
		t.Fatalf("the database made for the failed restore is left: %s", got)
	}
	// Over a database that holds data, with replace: it stays as it was.
	if _, err := Restore(ctx, target, file, false); err != nil {
		t.Fatal(err)
	}
	mustExec(t, target, "INSERT INTO labs.labs (code, name, country) VALUES ('NEW', 'Made after the backup', 'CH')")
	if _, err := Restore(ctx, target, orphan, true); err == nil {
		t.Fatal("the failed restore replaced the database")
	}
	if got := databases(); got != name {
		t.Fatalf("databases %s, want %s alone", got, name)
	}
	if got := labNames(t, target); got != "Lab,Made after the backup" {
		t.Fatalf("the database replaced by a failed restore holds %q", got)
	}
}

func TestMissingClientsAreNamedWithTheirInstall(t *testing.T) {
	empty := t.TempDir()
	defer func(dirs func(int) []string) { searchDirs = dirs }(searchDirs)
	searchDirs = func(int) []string { return []string{empty} }
	t.Setenv("PATH", empty)
	_, err := FindClients(context.Background(), system(t))
	if err == nil || !strings.Contains(err.Error(), "pg_dump of PostgreSQL") || !strings.Contains(err.Error(), "apt-get install postgresql-client-") {
		t.Fatalf("%v", err)
	}
	// Another major version is not taken for the server's.
	major, _ := ServerMajor(context.Background(), system(t))
	other := filepath.Join(empty, "pg_dump")
	script := fmt.Sprintf("#!/bin/sh\necho 'pg_dump (PostgreSQL) %d.1'\n", major+1)
	if err := os.WriteFile(other, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = FindClients(context.Background(), system(t))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("version %d", major+1)) {
		t.Fatalf("%v", err)
	}
}
