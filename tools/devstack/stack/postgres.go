package stack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LocalPostgresPort is where the project-local PostgreSQL listens.
const LocalPostgresPort = 55432

// DefaultPostgresURL is the server tried when DB_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// EnsurePostgres returns the URL of a PostgreSQL server that answers: the
// one in DB_URL if set, else one on 127.0.0.1:5432, else a project-local
// server started from the machine's binaries (installed with apt-get when
// missing and running as root).
func EnsurePostgres(ctx context.Context, root string, log func(string)) (string, error) {
	if configured := os.Getenv("DB_URL"); configured != "" {
		if err := pingPostgres(ctx, configured); err != nil {
			return "", fmt.Errorf("DB_URL is set but PostgreSQL there does not answer: %w", err)
		}
		return configured, nil
	}
	if pingPostgres(ctx, DefaultPostgresURL) == nil {
		return DefaultPostgresURL, nil
	}
	local := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", LocalPostgresPort)
	if pingPostgres(ctx, local) == nil {
		return local, nil
	}
	logf(log, "no PostgreSQL on 127.0.0.1:5432: starting a project-local one on port %d", LocalPostgresPort)
	if err := startLocalPostgres(ctx, root, log); err != nil {
		return "", err
	}
	return local, waitFor(ctx, 30*time.Second, func() error { return pingPostgres(ctx, local) })
}

// EnsureDatabase creates database name on the server at serverURL if it is
// missing and returns its URL.
func EnsureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	parsed, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	parsed.Path = "/" + name
	return parsed.String(), nil
}

func pingPostgres(ctx context.Context, dbURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func startLocalPostgres(ctx context.Context, root string, log func(string)) error {
	_, err := StartPostgres(ctx, filepath.Join(StateDir(root), "postgres"), LocalPostgresPort, log)
	return err
}

// StopLocalPostgres stops the project-local server if it runs.
func StopLocalPostgres(ctx context.Context, root string) error {
	base := filepath.Join(StateDir(root), "postgres")
	if _, err := os.Stat(filepath.Join(base, "data", "postmaster.pid")); err != nil {
		return nil
	}
	server, err := postgresIn(ctx, base, LocalPostgresPort, nil)
	if err != nil {
		return err
	}
	return server.Stop(ctx)
}

// Postgres is a PostgreSQL server of the project's own, its data in a
// folder: the project-local server of make run, or one a test starts to
// restart it at will.
type Postgres struct {
	Port  int
	base  string
	bin   string
	runAs []string
}

// StartPostgres starts a server on 127.0.0.1:port with its data under base
// (created with initdb the first time), from the machine's binaries.
func StartPostgres(ctx context.Context, base string, port int, log func(string)) (*Postgres, error) {
	server, err := postgresIn(ctx, base, port, log)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(base, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		logf(log, "initialising %s", data)
		if err := server.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"); err != nil {
			return nil, err
		}
	}
	return server, server.Start(ctx)
}

func postgresIn(ctx context.Context, base string, port int, log func(string)) (*Postgres, error) {
	bin, err := postgresBinDir(ctx, log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	server := &Postgres{Port: port, base: base, bin: bin}
	// PostgreSQL refuses to run as root: as root, run it as the postgres
	// system user the Debian package creates.
	if os.Geteuid() == 0 {
		account, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root and there is no postgres user to run PostgreSQL as: install the postgresql package (apt-get install -y postgresql) or set DB_URL")
		}
		uid, _ := strconv.Atoi(account.Uid)
		gid, _ := strconv.Atoi(account.Gid)
		if err := chownTree(base, uid, gid); err != nil {
			return nil, err
		}
		server.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	return server, nil
}

// URL is the server's postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// Start starts the stopped server and waits until it answers.
func (p *Postgres) Start(ctx context.Context) error {
	options := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=200", p.Port, p.base)
	if err := p.run(ctx, "pg_ctl", "-D", filepath.Join(p.base, "data"), "-l", filepath.Join(p.base, "postgres.log"), "-o", options, "-w", "start"); err != nil {
		return fmt.Errorf("%w (log in %s)", err, filepath.Join(p.base, "postgres.log"))
	}
	return waitFor(ctx, 30*time.Second, func() error { return pingPostgres(ctx, p.URL()) })
}

// Stop stops the server, ending every session (a fast shutdown).
func (p *Postgres) Stop(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", filepath.Join(p.base, "data"), "-m", "fast", "-w", "stop")
}

// Restart stops the server and starts it again.
func (p *Postgres) Restart(ctx context.Context) error {
	if err := p.Stop(ctx); err != nil {
		return err
	}
	return p.Start(ctx)
}

func (p *Postgres) run(ctx context.Context, program string, args ...string) error {
	command := append(append(append([]string{}, p.runAs...), filepath.Join(p.bin, program)), args...)
	if out, err := exec.CommandContext(ctx, command[0], command[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", program, err, out)
	}
	return nil
}

// postgresBinDir finds the newest PostgreSQL (15 or later) on the machine,
// installing Debian's package when running as root.
func postgresBinDir(ctx context.Context, log func(string)) (string, error) {
	if dir := findPostgresBinDir(); dir != "" {
		return dir, nil
	}
	if err := aptInstall(ctx, log, "postgresql"); err != nil {
		return "", fmt.Errorf("PostgreSQL 15 or later is needed and not installed: %w", err)
	}
	if dir := findPostgresBinDir(); dir != "" {
		return dir, nil
	}
	return "", errors.New("postgresql installed but no initdb found under /usr/lib/postgresql")
}

func findPostgresBinDir() string {
	candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "initdb"))
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, path)
	}
	var usable []string
	for _, initdb := range candidates {
		out, err := exec.Command(initdb, "--version").Output()
		if err != nil {
			continue
		}
		fields := strings.Fields(string(out))
		if len(fields) == 0 {
			continue
		}
		major, _ := strconv.Atoi(strings.SplitN(fields[len(fields)-1], ".", 2)[0])
		if major >= 15 {
			usable = append(usable, fmt.Sprintf("%04d %s", major, filepath.Dir(initdb)))
		}
	}
	if len(usable) == 0 {
		return ""
	}
	sort.Strings(usable)
	return strings.SplitN(usable[len(usable)-1], " ", 2)[1]
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func waitFor(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
