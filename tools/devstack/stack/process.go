package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Service is a service binary of the project.
type Service struct {
	// Name is the binary's name, for example "labs".
	Name string
	// Package is its main package, relative to the repository root.
	Package string
	// Schema is the schema it migrates, "" when it has none.
	Schema string
}

// Services are the project's services, in start order (the gateway last).
var Services = []Service{
	{Name: "labs", Package: "./services/labs/cmd/labs", Schema: "labs"},
	{Name: "ingest", Package: "./services/ingest/cmd/ingest", Schema: "ingest"},
	{Name: "calc", Package: "./services/calc/cmd/calc", Schema: "calc"},
	{Name: "reporting", Package: "./services/reporting/cmd/reporting", Schema: "reporting"},
	{Name: "gateway", Package: "./services/gateway/cmd/gateway"},
}

// UpstreamEnv tells every process where the services are, by name.
func UpstreamEnv(addrs map[string]string) []string {
	return []string{
		"LABS_URL=http://" + addrs["labs"],
		"INGEST_URL=http://" + addrs["ingest"],
		"CALC_URL=http://" + addrs["calc"],
		"REPORTING_URL=http://" + addrs["reporting"],
	}
}

// ServiceEnv is the environment of service: where the OIDC issuer is, and
// the service account it logs in with to act on its own.
func ServiceEnv(dex *Dex, service Service) []string {
	return []string{
		"OAUTH_ISSUER_URL=" + dex.IssuerURL,
		"OAUTH_AUDIENCE=" + Audience,
		"OAUTH_ROLES_CLAIM=groups",
		"OAUTH_SERVICE_GRANT=password",
		"OAUTH_CLIENT_ID=" + ServicesClient,
		"OAUTH_CLIENT_SECRET=" + dex.ServicesSecret,
		"OAUTH_SERVICE_USERNAME=svc-" + service.Name + "@co2.internal",
		"OAUTH_SERVICE_PASSWORD=" + dex.ServicePassword,
	}
}

// Build compiles the services into binDir.
func Build(ctx context.Context, root, binDir string, services []Service) error {
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, service := range services {
		args = append(args, service.Package)
	}
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// Migrate runs `<binary> migrate up` for every service that has a schema.
func Migrate(ctx context.Context, binDir string, services []Service, env []string, out io.Writer) error {
	for _, service := range services {
		if service.Schema == "" {
			continue
		}
		migrate := exec.CommandContext(ctx, filepath.Join(binDir, service.Name), "migrate", "up")
		migrate.Env = append(os.Environ(), env...)
		migrate.Stdout, migrate.Stderr = out, out
		if err := migrate.Run(); err != nil {
			return fmt.Errorf("%s migrate up: %w", service.Name, err)
		}
	}
	return nil
}

// Process is a running service.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs binary with the given environment added to this process's,
// copying each line it prints to out prefixed with its name.
func Start(name, binary string, args, env []string, out io.Writer) (*Process, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	process := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		scanner := bufio.NewScanner(pipe)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			fmt.Fprintf(out, "%-8s| %s\n", name, scanner.Text())
		}
	}()
	go func() {
		copied.Wait()
		process.err = cmd.Wait()
		close(process.done)
	}()
	return process, nil
}

// PeakRSS is the most memory the process has held resident (VmHWM), in
// bytes, read from /proc while it runs.
func (p *Process) PeakRSS() (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, found := strings.CutPrefix(line, "VmHWM:"); found {
			var kB int64
			if _, err := fmt.Sscanf(strings.TrimSpace(value), "%d kB", &kB); err != nil {
				return 0, err
			}
			return kB * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM for %s", p.Name)
}

// ResetPeakRSS starts PeakRSS over from the memory the process holds now
// (Linux's clear_refs), so a measurement covers one step only.
func (p *Process) ResetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
}

// Signal sends sig to the process (SIGSTOP freezes it, SIGCONT thaws it).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process ended, once Done is closed.
func (p *Process) Err() error { return p.err }

// Stop asks the process to end (SIGTERM) and kills it after grace.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	var exitErr *exec.ExitError
	if errors.As(p.err, &exitErr) && !exitErr.Exited() {
		return nil // ended by the signal
	}
	return p.err
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// WaitHTTP waits until url answers 200, the process exits, or timeout.
func WaitHTTP(ctx context.Context, url string, timeout time.Duration, process *Process) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		request, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		response, err := http.DefaultClient.Do(request)
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, response.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", url, last)
		case <-process.Done():
			return fmt.Errorf("%s exited while starting: %w", process.Name, process.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// handedOut holds the addresses FreeAddr gave this process: the kernel may
// offer a port again once its probe closed it, and systems started side by
// side (tests) must not be handed the same one.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// FreeAddr returns a loopback address with a port nobody listens on now,
// and that this process has not handed out before.
func FreeAddr() (string, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		handedOut.Lock()
		fresh := !handedOut.addrs[addr]
		handedOut.addrs[addr] = true
		handedOut.Unlock()
		if fresh {
			return addr, nil
		}
	}
	return "", errors.New("no loopback port left that was not handed out already")
}
