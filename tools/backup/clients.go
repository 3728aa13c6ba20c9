package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Clients are the pg_dump and pg_restore of one PostgreSQL major version.
type Clients struct {
	Major             int
	PgDump, PgRestore string
}

// searchDirs are where client programs are looked for, in order, before
// PATH: Debian and Ubuntu install each major version under its own
// directory (and /usr/bin/pg_dump is a wrapper that may pick another).
var searchDirs = func(major int) []string {
	return []string{fmt.Sprintf("/usr/lib/postgresql/%d/bin", major)}
}

// ServerMajor returns the major version of the server at dbURL.
func ServerMajor(ctx context.Context, dbURL string) (int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var versionNum string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&versionNum); err != nil {
		return 0, fmt.Errorf("server version: %w", err)
	}
	number, err := strconv.Atoi(versionNum)
	if err != nil {
		return 0, fmt.Errorf("server version %q: %w", versionNum, err)
	}
	return number / 10000, nil
}

// FindClients returns the pg_dump and pg_restore of the server's major
// version: an archive written by a newer pg_dump cannot be read by the
// server's own pg_restore, and an older pg_dump refuses a newer server.
func FindClients(ctx context.Context, dbURL string) (Clients, error) {
	major, err := ServerMajor(ctx, dbURL)
	if err != nil {
		return Clients{}, err
	}
	clients := Clients{Major: major}
	var found []string
	for _, name := range []string{"pg_dump", "pg_restore"} {
		path, others := findClient(ctx, name, major)
		if path == "" {
			hint := fmt.Sprintf("on Debian or Ubuntu: apt-get install postgresql-client-%d (from apt.postgresql.org if your release lacks it); elsewhere, put %s %d first on PATH", major, name, major)
			if len(others) > 0 {
				hint += "; found only " + strings.Join(others, ", ")
			}
			return Clients{}, fmt.Errorf("%s of PostgreSQL %d, the server's version, is not installed: %s", name, major, hint)
		}
		found = append(found, path)
	}
	clients.PgDump, clients.PgRestore = found[0], found[1]
	return clients, nil
}

// findClient returns the program name of the major version, or "" and the
// other versions found.
func findClient(ctx context.Context, name string, major int) (string, []string) {
	candidates := []string{}
	for _, dir := range searchDirs(major) {
		candidates = append(candidates, filepath.Join(dir, name))
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir != "" {
			candidates = append(candidates, filepath.Join(dir, name))
		}
	}
	var others []string
	for _, candidate := range candidates {
		version, err := clientMajor(ctx, candidate)
		switch {
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound):
			continue
		case err != nil:
			others = append(others, fmt.Sprintf("%s (%v)", candidate, err))
		case version == major:
			return candidate, nil
		default:
			others = append(others, fmt.Sprintf("%s (version %d)", candidate, version))
		}
	}
	return "", others
}

var clientVersion = regexp.MustCompile(`\) (\d+)(\.\d+)*`)

// clientMajor runs `program --version` ("pg_dump (PostgreSQL) 15.20 ...").
func clientMajor(ctx context.Context, program string) (int, error) {
	if _, err := os.Stat(program); err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, program, "--version").Output()
	if err != nil {
		return 0, err
	}
	match := clientVersion.FindSubmatch(out)
	if match == nil {
		return 0, fmt.Errorf("unexpected --version %q", strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(string(match[1]))
}
