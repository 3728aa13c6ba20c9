// Command smoke checks a running co2-calculator through its gateway, as a
// user would: the chart's test (helm test), and make test-k8s, skaffold's
// and compose's checks.
//
//	smoke check   the gateway answers; with credentials, a lab, a CSV
//	              import and its report, exact, then the lab purged
//	smoke import  a large import during which -while-running runs once the
//	              job is under way (make test-k8s kills its worker); the
//	              result must still be exact
//	smoke poll    reads a lab every -interval while -while runs (a helm
//	              upgrade); any failed request fails
//
// Settings come from flags or SMOKE_* variables (the chart's test sets
// them): SMOKE_GATEWAY, SMOKE_TOKEN_URL, SMOKE_USERNAME, SMOKE_PASSWORD,
// SMOKE_CLIENT_ID, SMOKE_CLIENT_SECRET, SMOKE_SCOPE. Without a token URL
// only the unauthenticated checks run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: smoke check|import|poll [flags]")
	}
	command, args := args[0], args[1:]
	flags := flag.NewFlagSet("smoke "+command, flag.ContinueOnError)
	var settings settings
	settings.register(flags)
	rows := flags.Int("rows", 100, "rows of the CSV imported")
	keep := flags.Bool("keep", false, "keep the lab created (it is purged by default)")
	whileRunning := flags.String("while-running", "", "import: a shell command run once the job is under way")
	while := flags.String("while", "", "poll: the shell command during which to poll")
	interval := flags.Duration("interval", 100*time.Millisecond, "poll: time between two reads")
	timeout := flags.Duration("timeout", 5*time.Minute, "how long an import may take")
	if err := flags.Parse(args); err != nil {
		return err
	}
	client, err := newClient(ctx, settings)
	if err != nil {
		return err
	}
	switch command {
	case "check":
		return check(ctx, client, *rows, *timeout, *keep)
	case "import":
		if *whileRunning == "" {
			return errors.New("import: -while-running is required")
		}
		return importWhile(ctx, client, *rows, *whileRunning, *timeout, *keep)
	case "poll":
		if *while == "" {
			return errors.New("poll: -while is required")
		}
		return poll(ctx, client, *while, *interval, *keep)
	default:
		return fmt.Errorf("unknown command %q: check, import or poll", command)
	}
}

// logf reports progress on stdout (the test pod's log).
func logf(format string, args ...any) {
	fmt.Printf("%s smoke: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
