// Command backup backs up the database DB_URL names, or restores a backup
// into it (make backup, make restore):
//
//	backup create -file co2.dump
//	backup restore -file co2.dump [-replace]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/co2-calculator/co2-calculator/tools/backup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "restore") {
		return errors.New("usage: backup create -file PATH | backup restore -file PATH [-replace] (DB_URL names the database)")
	}
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	file := flags.String("file", "", "the backup file")
	replace := flags.Bool("replace", false, "restore over a database that holds data (it is kept under another name)")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	dbURL := os.Getenv("DB_URL")
	if *file == "" || dbURL == "" {
		return errors.New("name the file with -file, and the database with DB_URL")
	}
	if args[0] == "create" {
		summary, err := backup.Create(ctx, dbURL, *file)
		if err != nil {
			return err
		}
		fmt.Printf("backed up to %s: %s\n", *file, summary)
		return nil
	}
	kept, err := backup.Restore(ctx, dbURL, *file, *replace)
	if err != nil {
		return err
	}
	fmt.Printf("restored %s\n", *file)
	if kept != "" {
		fmt.Printf("the database it replaced is kept as %s: drop it once the restored system is checked (DROP DATABASE %s)\n", kept, kept)
	}
	return nil
}
