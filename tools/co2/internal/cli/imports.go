package cli

import (
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

func (a *app) importsCommand() *cobra.Command {
	imports := &cobra.Command{Use: "imports", Short: "Follow import jobs and read their rejected rows"}
	watch := &cobra.Command{
		Use:     "watch ID",
		Short:   "Follow an import job until it finishes (Ctrl-C asks whether to cancel it)",
		Example: "  co2 imports watch 0b7f3c1e-5d2a-4d8e-9a41-2f7c1b9e8a10",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client := a.client()
			job, err := client.ImportStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if job.Finished() {
				return a.printImport(job)
			}
			interrupts := make(chan os.Signal, 1)
			signal.Notify(interrupts, os.Interrupt)
			defer signal.Stop(interrupts)
			return a.follow(cmd.Context(), client, job, interrupts)
		},
	}
	var limit int
	errs := &cobra.Command{
		Use:     "errors ID",
		Short:   "The rejected rows of an import (row, column, message)",
		Example: "  co2 imports errors 0b7f3c1e-5d2a-4d8e-9a41-2f7c1b9e8a10 --limit 50",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit %d: at least 1", limit)
			}
			rows, rejected, err := a.client().ImportErrors(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				if rows == nil {
					rows = []api.RowError{}
				}
				return a.printJSON(map[string]any{"rowsRejected": rejected, "errors": rows})
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.out, "No rejected rows.")
				return nil
			}
			table(a.out, []string{"ROW", "COLUMN", "MESSAGE"}, errorRows(rows))
			if rejected > int64(len(rows)) {
				fmt.Fprintf(a.out, "(%d of %d rejected rows; --limit shows more)\n", len(rows), rejected)
			}
			return nil
		},
	}
	errs.Flags().IntVar(&limit, "limit", 1000, "at most this many rows")
	imports.AddCommand(watch, errs)
	return imports
}

func errorRows(rows []api.RowError) [][]string {
	table := make([][]string, 0, len(rows))
	for _, rowError := range rows {
		table = append(table, []string{fmt.Sprint(rowError.Row), rowError.Column, rowError.Message})
	}
	return table
}
