// Package e2e drives co2-calculator as its users do: the real service
// binaries run as processes on loopback ports, over a fresh PostgreSQL
// database, and the tests speak REST to the gateway.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

var (
	binDir string
	dex    *stack.Dex
	// tokens are access tokens of the dev users, by name.
	tokens = map[string]string{}
)

// TestMain builds the services and starts one Dex for the whole package.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "co2-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		root, err := stack.Root()
		if err == nil {
			err = stack.Build(ctx, root, filepath.Join(dir, "bin"), stack.Services)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "build the services:", err)
			return 1
		}
		binDir = filepath.Join(dir, "bin")
		addr, err := stack.FreeAddr()
		if err == nil {
			dex, err = stack.StartDex(ctx, root, filepath.Join(dir, "dex"), addr, io.Discard, func(line string) { fmt.Fprintln(os.Stderr, line) })
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "start Dex:", err)
			return 1
		}
		defer dex.Process.Stop(5 * time.Second) //nolint:errcheck // stopping at exit
		for _, user := range stack.DevUsers {
			if tokens[user.Name], err = stack.Token(ctx, dex.IssuerURL, user.Email(), stack.DevPassword); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}())
}

// system is one running co2-calculator.
type system struct {
	Gateway   string
	Labs      string // the labs service's own address, for internal calls
	DBURL     string
	processes map[string]*stack.Process
	env       map[string][]string
	addrs     map[string]string
	logs      *lockedBuffer
}

// startSystem runs every service and the gateway over a fresh database,
// with extra environment for all of them; everything stops when the test
// ends, and the processes' output is shown if it failed.
func startSystem(t *testing.T, extraEnv ...string) *system {
	t.Helper()
	dbURL := pgtest.NewDatabase(t,
		pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations},
		pgtest.Schema{Name: "ingest", Migrations: ingestmigrations.Migrations},
		pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations},
		pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations})
	return startSystemOn(t, dbURL, extraEnv...)
}

// startSystemOn is startSystem over the database dbURL.
func startSystemOn(t *testing.T, dbURL string, extraEnv ...string) *system {
	t.Helper()
	addrs := map[string]string{}
	for _, service := range stack.Services {
		addr, err := stack.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[service.Name] = addr
	}
	env := append(append([]string{
		"DB_URL=" + dbURL,
		// Each system has its own queue: workers of one never take another's jobs.
		"IMPORT_QUEUE=e2e-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + addrs["gateway"],
		"EXPORT_QUEUE=e2e-exports-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + addrs["gateway"],
		"LOG_LEVEL=debug",
		"SHUTDOWN_TIMEOUT=5s",
		// Each system counts its own rate limits.
		"RATE_LIMIT_PREFIX=e2e:" + t.Name() + ":" + addrs["gateway"] + ":",
	}, stack.UpstreamEnv(addrs)...), extraEnv...)

	sys := &system{
		Gateway: "http://" + addrs["gateway"], Labs: "http://" + addrs["labs"], DBURL: dbURL,
		processes: map[string]*stack.Process{}, env: map[string][]string{}, addrs: addrs, logs: &lockedBuffer{},
	}
	t.Cleanup(func() {
		for _, process := range sys.processes {
			if err := process.Stop(10 * time.Second); err != nil {
				t.Errorf("%s: %v", process.Name, err)
			}
		}
		if t.Failed() {
			t.Logf("service output:\n%s", sys.logs.String())
		}
	})
	// The migrations are already in the template; running them again checks
	// the binary's migrate command is idempotent.
	if err := stack.Migrate(context.Background(), binDir, stack.Services, env, sys.logs); err != nil {
		t.Fatal(err)
	}
	for _, service := range stack.Services {
		sys.env[service.Name] = append(append(stack.ServiceEnv(dex, service), env...), "LISTEN_ADDR="+addrs[service.Name])
		sys.start(t, service.Name)
	}
	if err := stack.WaitHTTP(context.Background(), sys.Gateway+"/ready", 30*time.Second, sys.processes["gateway"]); err != nil {
		t.Fatal(err)
	}
	return sys
}

// start runs a service with its environment plus extraEnv, and waits for it.
func (s *system) start(t *testing.T, name string, extraEnv ...string) {
	t.Helper()
	process, err := stack.Start(name, filepath.Join(binDir, name), nil, append(append([]string{}, s.env[name]...), extraEnv...), s.logs)
	if err != nil {
		t.Fatal(err)
	}
	s.processes[name] = process
	if err := stack.WaitHTTP(context.Background(), "http://"+s.addrs[name]+"/health", 30*time.Second, process); err != nil {
		t.Fatal(err)
	}
}

// startReplica runs one more process of service, named name (a second
// calc, say), on a port of its own, with extraEnv, and waits for it.
func (s *system) startReplica(t *testing.T, service, name string, extraEnv ...string) {
	t.Helper()
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s.addrs[name] = addr
	env := append(append(append([]string{}, s.env[service]...), "LISTEN_ADDR="+addr), extraEnv...)
	process, err := stack.Start(name, filepath.Join(binDir, service), nil, env, s.logs)
	if err != nil {
		t.Fatal(err)
	}
	s.processes[name] = process
	if err := stack.WaitHTTP(context.Background(), "http://"+addr+"/health", 30*time.Second, process); err != nil {
		t.Fatal(err)
	}
}

// stopAll ends every process of the system.
func (s *system) stopAll(t *testing.T) {
	t.Helper()
	for name := range s.processes {
		s.stop(t, name)
	}
}

// kill ends a service at once, as a crash would.
func (s *system) kill(name string) { s.processes[name].Kill() }

// stop ends one service, as an outage would.
func (s *system) stop(t *testing.T, name string) {
	t.Helper()
	if err := s.processes[name].Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func jsonUnmarshal(raw []byte, out any) error { return json.Unmarshal(raw, out) }
