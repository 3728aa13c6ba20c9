// Package backup backs up the system's PostgreSQL database and restores it,
// with the pg_dump and pg_restore of the server's own major version.
//
// A backup is one pg_dump archive in the custom format of the whole
// database: every service's schema (labs, ingest, calc, reporting) with
// its goose version table, so a restored database is at the migrations it
// was at, taken in one consistent snapshot while the system runs. Redis is
// not backed up: PostgreSQL holds the truth (jobs, exports, recalculation
// asks) and the services queue again what Redis lost (docs/adr/015).
package backup

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Summary says what an archive holds.
type Summary struct {
	Schemas []string
	Tables  int
	Bytes   int64
}

func (s Summary) String() string {
	return fmt.Sprintf("%d tables in the schemas %s, %d bytes", s.Tables, strings.Join(s.Schemas, ", "), s.Bytes)
}

// Create writes a backup of the database at dbURL to file. The archive is
// written beside it and renamed into place once pg_dump has finished and
// pg_restore has read it back, so file is a whole backup or nothing.
func Create(ctx context.Context, dbURL, file string) (Summary, error) {
	clients, err := FindClients(ctx, dbURL)
	if err != nil {
		return Summary{}, err
	}
	partial := file + ".partial"
	defer func() { _ = os.Remove(partial) }() // gone once renamed
	if err := run(ctx, dbURL, clients.PgDump, "--format=custom", "--file="+partial); err != nil {
		return Summary{}, err
	}
	// The archive holds every lab's data: readable by its owner alone.
	if err := os.Chmod(partial, 0o600); err != nil {
		return Summary{}, err
	}
	summary, err := Inspect(ctx, clients, partial)
	if err != nil {
		return Summary{}, fmt.Errorf("the archive pg_dump wrote does not read back: %w", err)
	}
	if err := os.Rename(partial, file); err != nil {
		return Summary{}, err
	}
	return summary, nil
}

// Inspect reads an archive's table of contents.
func Inspect(ctx context.Context, clients Clients, file string) (Summary, error) {
	info, err := os.Stat(file)
	if err != nil {
		return Summary{}, err
	}
	out, err := exec.CommandContext(ctx, clients.PgRestore, "--list", file).CombinedOutput()
	if err != nil {
		return Summary{}, fmt.Errorf("pg_restore --list %s: %w: %s", file, err, bytes.TrimSpace(out))
	}
	summary := Summary{Bytes: info.Size()}
	schemas := map[string]bool{}
	lines := bufio.NewScanner(bytes.NewReader(out))
	for lines.Scan() {
		// "3410; 1259 16390 TABLE labs labs postgres": id; ids, type, schema, name, owner.
		fields := strings.Fields(lines.Text())
		if len(fields) >= 6 && !strings.HasPrefix(fields[0], ";") && fields[3] == "TABLE" && fields[4] != "DATA" {
			summary.Tables++
			schemas[fields[4]] = true
		}
	}
	for schema := range schemas {
		summary.Schemas = append(summary.Schemas, schema)
	}
	sort.Strings(summary.Schemas)
	if summary.Tables == 0 {
		return summary, fmt.Errorf("%s holds no table: was the database migrated (is DB_URL the system's)?", file)
	}
	return summary, nil
}

// run runs a client program against dbURL. The password travels in the
// environment, not on the command line where other users of the machine
// could read it, and settings only pgx knows (pool_*) are left out.
func run(ctx context.Context, dbURL, program string, args ...string) error {
	connection, password, err := libpqURL(dbURL)
	if err != nil {
		return err
	}
	command := exec.CommandContext(ctx, program, append(args, "--dbname="+connection)...)
	command.Env = os.Environ()
	if password != "" {
		command.Env = append(command.Env, "PGPASSWORD="+password)
	}
	if out, err := command.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", program, err, bytes.TrimSpace(out))
	}
	return nil
}

// libpqURL returns dbURL without its password and pgx-only settings, and
// the password.
func libpqURL(dbURL string) (string, string, error) {
	parsed, err := url.Parse(dbURL)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		return "", "", fmt.Errorf("DB_URL is not a postgres:// URL")
	}
	password, _ := parsed.User.Password()
	if parsed.User != nil {
		parsed.User = url.User(parsed.User.Username())
	}
	query := parsed.Query()
	for key := range query {
		if strings.HasPrefix(key, "pool_") {
			query.Del(key)
		}
	}
	parsed.RawQuery = query.Encode()
	return parsed.String(), password, nil
}

// withDatabase returns dbURL naming database name instead.
func withDatabase(dbURL, name string) (string, error) {
	parsed, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	parsed.Path = "/" + name
	return parsed.String(), nil
}

// databaseOf returns the database dbURL names.
func databaseOf(dbURL string) (string, error) {
	parsed, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	name := strings.TrimPrefix(parsed.Path, "/")
	if name == "" {
		return "", fmt.Errorf("DB_URL names no database")
	}
	return name, nil
}
