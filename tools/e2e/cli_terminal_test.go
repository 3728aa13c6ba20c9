package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// What a person sees running co2 in a terminal: a pseudo-terminal, as
// their shell gives it, with Ctrl-C typed as they would type it.

// terminal is co2 running in a pseudo-terminal.
type terminal struct {
	pty    *os.File
	cmd    *exec.Cmd
	screen *syncBuffer
	exited chan struct{}
	status int
}

// inTerminal starts co2 args in a pty of its own.
func (u *cliUser) inTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, co2Bin(t), args...)
	cmd.Env = append(os.Environ(), append(u.env, "TERM=xterm")...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{pty: tty, cmd: cmd, screen: &syncBuffer{}, exited: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(term.screen, tty) // ends with an error once co2 exits
		close(copied)
	}()
	go func() {
		err := cmd.Wait()
		if exit := new(exec.ExitError); errors.As(err, &exit) {
			term.status = exit.ExitCode()
		}
		<-copied
		close(term.exited)
	}()
	t.Cleanup(func() { _ = tty.Close() })
	return term
}

// waitFor waits until the screen matches pattern, and returns the match.
func (term *terminal) waitFor(t *testing.T, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if match := re.FindStringSubmatch(term.screen.String()); match != nil {
			return match
		}
		select {
		case <-term.exited:
			if match := re.FindStringSubmatch(term.screen.String()); match != nil {
				return match
			}
			t.Fatalf("co2 exited (%d) without showing %q:\n%s", term.status, pattern, term.screen.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q:\n%s", pattern, term.screen.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeKeys types into the terminal.
func (term *terminal) typeKeys(t *testing.T, keys string) {
	t.Helper()
	if _, err := term.pty.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

// wait waits for co2 to exit and returns its status.
func (term *terminal) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-term.exited:
		return term.status
	case <-time.After(2 * time.Minute):
		t.Fatalf("co2 did not exit:\n%s", term.screen.String())
		return -1
	}
}

func TestCLIInATerminalShowsTheUploadAndTheRowsLive(t *testing.T) {
	sys := startSystem(t)
	admin := loggedIn(t, sys, "admin")
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"TTY-LAB","name":"Lab at a terminal","country":"CH"}`)
	const rows = 60000
	file := writeTemp(t, "big.csv", equipmentRows(rows))

	term := admin.inTerminal(t, "import", file, "--lab", "TTY-LAB", "--kind", "equipment", "--year", "2025")
	// The upload's bar, in bytes, to 100 %.
	term.waitFor(t, `uploading big\.csv\s+100% \|█+\| \([\d.]+( [kM]?B)?/[\d.]+ [kM]B`)
	// Then the job, live: its state and rows as the bar's description.
	term.waitFor(t, `import [0-9a-f]{8} (QUEUED|RUNNING)`)
	term.waitFor(t, fmt.Sprintf(`import [0-9a-f]{8} SUCCESS\s+rows %d`, rows))
	if status := term.wait(t); status != 0 {
		t.Fatalf("co2 import exit %d:\n%s", status, term.screen.String())
	}
	term.waitFor(t, fmt.Sprintf(`FINISHED: SUCCESS\r?\n.*\r?\n\s+rows: %d read, %d imported, 0 rejected`, rows, rows))
}

func TestCLICtrlCAsksWhetherToCancelTheImport(t *testing.T) {
	// No worker takes jobs here: each import waits, QUEUED, for the person
	// at the terminal to decide.
	sys := startSystem(t, "WORKER_CONCURRENCY=0")
	member := loggedIn(t, sys, "admin")
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"CTRL-C","name":"Lab of second thoughts","country":"CH"}`)
	file := writeTemp(t, "some.csv", equipmentRows(10))

	t.Run("y cancels the job", func(t *testing.T) {
		term := member.inTerminal(t, "import", file, "--lab", "CTRL-C", "--kind", "equipment", "--year", "2025")
		term.waitFor(t, `import [0-9a-f]{8} QUEUED`)
		term.typeKeys(t, "\x03")
		id := term.waitFor(t, `Cancel import ([0-9a-f-]{36})\? \[y/N\] `)[1]
		term.typeKeys(t, "y\r")
		if status := term.wait(t); status != 1 {
			t.Fatalf("co2 import after y: exit %d, want 1:\n%s", status, term.screen.String())
		}
		term.waitFor(t, `FINISHED: CANCELLED`)
		job := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")
		if job["state"] != "FINISHED" || job["result"] != "ERROR" || job["cancelRequested"] != true || !strings.HasPrefix(job["statusMessage"].(string), "cancelled") {
			t.Fatalf("the job on the server after y: %v", job)
		}
	})
	t.Run("n leaves it running and says how to watch it", func(t *testing.T) {
		term := member.inTerminal(t, "import", file, "--lab", "CTRL-C", "--kind", "equipment", "--year", "2025")
		term.waitFor(t, `import [0-9a-f]{8} QUEUED`)
		term.typeKeys(t, "\x03")
		id := term.waitFor(t, `Cancel import ([0-9a-f-]{36})\? \[y/N\] `)[1]
		term.typeKeys(t, "n\r")
		if status := term.wait(t); status != 0 {
			t.Fatalf("co2 import after n: exit %d, want 0:\n%s", status, term.screen.String())
		}
		term.waitFor(t, `Detached: import `+id+` goes on\. Watch it with: co2 imports watch `+id)
		if job := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", ""); job["state"] != "QUEUED" || job["cancelRequested"] != false {
			t.Fatalf("the job on the server after n: %v", job)
		}
	})
}
