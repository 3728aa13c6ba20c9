package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

func (a *app) exportCommand() *cobra.Command {
	var (
		year    int
		sublabs bool
		file    string
	)
	cmd := &cobra.Command{
		Use:     "export LAB",
		Short:   "A detailed export (a ZIP of one CSV per module and kind): create it, wait, download it",
		Example: "  co2 export ENAC-LAB1 --year 2025 --sublabs -o enac-2025.zip",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if year < 1 {
				return errors.New("--year is required, for example --year 2025")
			}
			client := a.client()
			labID, err := a.resolveLab(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			if file == "" {
				file = fmt.Sprintf("export-%s-%d.zip", args[0], year)
			}
			export, err := client.CreateExport(cmd.Context(), labID, year, sublabs)
			if err != nil {
				return err
			}
			var spinner *progressbar.ProgressBar
			if a.interactive() {
				spinner = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(a.errOut), progressbar.OptionSpinnerType(14),
					progressbar.OptionSetDescription("export "+shortID(export.ID)+" "+export.Status), progressbar.OptionSetRenderBlankState(true))
			} else if !a.jsonOutput() {
				fmt.Fprintf(a.errOut, "export %s: %s\n", export.ID, export.Status)
			}
			export, err = client.WaitExport(cmd.Context(), labID, export.ID, func(seen api.Export) {
				if spinner != nil {
					spinner.Describe("export " + shortID(seen.ID) + " " + seen.Status)
					_ = spinner.Add(1)
				}
			})
			if spinner != nil {
				_ = spinner.Exit()
				fmt.Fprintln(a.errOut)
			}
			if err != nil {
				return err
			}
			if export.Status != api.ExportDone {
				return &exitError{code: 1, message: fmt.Sprintf("export %s %s: %s", export.ID, export.Status, export.Error)}
			}
			var written int64
			if err := writeFileFrom(file, func(w io.Writer) error {
				written, err = client.DownloadExport(cmd.Context(), labID, export.ID, w)
				return err
			}); err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]any{"export": export, "file": file, "bytes": written})
			}
			fmt.Fprintf(a.out, "Wrote export %s (%d rows, %d bytes) to %s.\n", export.ID, export.Rows, written, file)
			return nil
		},
	}
	cmd.Flags().IntVar(&year, "year", 0, "the reporting year (required)")
	cmd.Flags().BoolVar(&sublabs, "sublabs", false, "include the lab's sub-labs")
	cmd.Flags().StringVarP(&file, "out", "o", "", "the ZIP file to write (default export-LAB-YEAR.zip)")
	return cmd
}
