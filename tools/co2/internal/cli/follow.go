package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

const msDuration = time.Millisecond

// latest keeps the newest state the watch learnt; the display takes it
// when it can (a slow terminal never holds the watch up).
type latest struct {
	mu      sync.Mutex
	job     api.Import
	changed chan struct{}
}

func (l *latest) set(job api.Import) {
	l.mu.Lock()
	l.job = job
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *latest) get() api.Import {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.job
}

// follow watches the job until it finishes, drawing its rows, and asks on
// Ctrl-C whether to cancel it; it prints the result and fails when the job
// ended in ERROR.
func (a *app) follow(ctx context.Context, client *api.Client, job api.Import, interrupts <-chan os.Signal) error {
	ctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	state := &latest{job: job, changed: make(chan struct{}, 1)}
	type outcome struct {
		job api.Import
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		final, err := client.WatchImport(ctx, job.ID, state.set)
		done <- outcome{final, err}
	}()

	display := a.newRowsDisplay(job)
	answers := bufio.NewReader(a.in)
	cancelAsked := false
	for {
		select {
		case <-state.changed:
			display.show(state.get())
		case result := <-done:
			if result.err == nil {
				display.last(result.job)
			}
			display.close()
			if result.err != nil {
				return result.err
			}
			return a.printImport(result.job)
		case <-interrupts:
			display.pause()
			if cancelAsked {
				fmt.Fprintf(a.errOut, "\nCancelling import %s already: waiting for it to stop (co2 imports watch %s follows it elsewhere).\n", job.ID, job.ID)
				continue
			}
			fmt.Fprintf(a.errOut, "\nCancel import %s? [y/N] ", job.ID)
			answer, _ := answers.ReadString('\n')
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "y") {
				cancelAsked = true
				if _, err := client.CancelImport(ctx, job.ID); err != nil && !api.IsStatus(err, http.StatusNotFound) {
					display.close()
					return fmt.Errorf("cancel import %s: %w", job.ID, err)
				}
				fmt.Fprintf(a.errOut, "Cancelling import %s...\n", job.ID)
				continue
			}
			stopWatching()
			display.close()
			if a.jsonOutput() {
				return a.printJSON(map[string]any{"detached": true, "import": state.get()})
			}
			fmt.Fprintf(a.out, "Detached: import %s goes on. Watch it with: co2 imports watch %s\n", job.ID, job.ID)
			return nil
		}
	}
}

// rowsDisplay shows a job's state and rows: a bar on a terminal, a line
// per state otherwise, nothing under --output json.
type rowsDisplay struct {
	app   *app
	bar   *progressbar.ProgressBar
	total int64
	state string
}

func (a *app) newRowsDisplay(job api.Import) *rowsDisplay {
	display := &rowsDisplay{app: a}
	if a.interactive() {
		display.bar = display.newBar(-1, job)
	}
	display.show(job)
	return display
}

func (d *rowsDisplay) newBar(total int64, job api.Import) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(d.app.errOut),
		progressbar.OptionSetDescription(describeJob(job)),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*msDuration),
		progressbar.OptionSetRenderBlankState(true),
	)
}

func describeJob(job api.Import) string {
	return fmt.Sprintf("import %s %-9s rows %d", shortID(job.ID), job.Outcome(), job.RowsProcessed)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (d *rowsDisplay) show(job api.Import) {
	switch {
	case d.bar != nil:
		if total := int64(job.RowsTotal); total > 0 && d.total != total {
			d.total = total
			d.bar.ChangeMax64(total)
		}
		d.bar.Describe(describeJob(job))
		_ = d.bar.Set64(int64(job.RowsProcessed))
	case !d.app.jsonOutput() && job.Outcome() != d.state:
		fmt.Fprintf(d.app.errOut, "import %s: %s, %d rows\n", job.ID, job.Outcome(), job.RowsProcessed)
	}
	d.state = job.Outcome()
}

// last shows the job's final state whatever the bar's throttle: the end
// of a watch can follow the previous state by less than its interval.
func (d *rowsDisplay) last(job api.Import) {
	d.show(job)
	if d.bar != nil {
		_ = d.bar.RenderBlank()
	}
}

func (d *rowsDisplay) pause() {
	if d.bar != nil {
		_ = d.bar.Clear()
	}
}

func (d *rowsDisplay) close() {
	if d.bar != nil {
		_ = d.bar.Exit()
		fmt.Fprintln(d.app.errOut)
	}
}

// printImport shows the finished job and its first rejected rows; a job
// that ended in ERROR fails the command.
func (a *app) printImport(job api.Import) error {
	if a.jsonOutput() {
		if err := a.printJSON(job); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.out, "Import %s %s: %s\n", job.ID, job.State, job.Outcome())
		fmt.Fprintf(a.out, "  %s, lab %s, kind %s, year %d, %s\n", job.Filename, job.LabID, job.Kind, job.Year, job.Mode)
		fmt.Fprintf(a.out, "  rows: %d read, %d imported, %d rejected\n", job.RowsTotal, job.RowsOK, job.RowsRejected)
		if job.StatusMessage != "" {
			fmt.Fprintf(a.out, "  %s\n", job.StatusMessage)
		}
		if len(job.FirstErrors) > 0 {
			fmt.Fprintln(a.out, "\nFirst rejected rows:")
			table(a.out, []string{"ROW", "COLUMN", "MESSAGE"}, errorRows(job.FirstErrors))
			if int(job.RowsRejected) > len(job.FirstErrors) {
				fmt.Fprintf(a.out, "(%d rejected in all: co2 imports errors %s lists them)\n", job.RowsRejected, job.ID)
			}
		}
	}
	if job.Finished() && job.Result == api.ResultError {
		return &exitError{code: 1, message: fmt.Sprintf("import %s ended %s: %s", job.ID, job.Outcome(), job.StatusMessage)}
	}
	if !job.Finished() {
		return errors.New("import " + job.ID + " is not finished")
	}
	return nil
}
