// Command devstack runs co2-calculator on one machine.
//
//	devstack run    find or start PostgreSQL and Redis, build, migrate and
//	                start every service and the gateway, seed a demo lab,
//	                print the URLs; Ctrl-C stops everything (make run)
//	devstack env    find or start PostgreSQL and Redis and print
//	                `export DB_URL=... REDIS_URL=...` for the tests (make test)
//	devstack app-env  the same, with DB_URL naming the system's own database
//	                (created when missing), for the db-* make targets
//	devstack token NAME  print an access token for dev user NAME (admin,
//	                auditor, manager, member, outsider) from the running Dex
//	devstack stop   stop the project-local PostgreSQL and Redis, if started
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: devstack run|env|app-env|token NAME|stop")
	}
	root, err := stack.Root()
	if err != nil {
		return err
	}
	log := func(line string) { fmt.Fprintln(stderr, "devstack:", line) }
	switch args[0] {
	case "env", "app-env":
		dbURL, err := stack.EnsurePostgres(ctx, root, log)
		if err != nil {
			return err
		}
		if args[0] == "app-env" {
			if dbURL, err = appDatabase(ctx, dbURL); err != nil {
				return err
			}
		}
		redisURL, err := stack.EnsureRedis(ctx, root, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "export DB_URL='%s'\nexport REDIS_URL='%s'\n", dbURL, redisURL)
		return nil
	case "run":
		return runSystem(ctx, root, stdout, log)
	case "token":
		if len(args) != 2 || args[1] == "" {
			return fmt.Errorf("usage: devstack token NAME (admin, auditor, manager, member, outsider)")
		}
		issuer := "http://127.0.0.1:5556/dex"
		if addr := os.Getenv("DEX_ADDR"); addr != "" {
			issuer = "http://" + addr + "/dex"
		}
		token, err := stack.Token(ctx, issuer, args[1]+"@example.com", stack.DevPassword)
		if err != nil {
			return fmt.Errorf("%w (is make run running?)", err)
		}
		fmt.Fprintln(stdout, token)
		return nil
	case "stop":
		if err := stack.StopLocalPostgres(ctx, root); err != nil {
			return err
		}
		return stack.StopLocalRedis(ctx)
	default:
		return fmt.Errorf("unknown command %q: usage: devstack run|env|app-env|stop", args[0])
	}
}
