package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

func (a *app) importCommand() *cobra.Command {
	var (
		lab, kind string
		year      int
		replace   bool
		duplicate bool
		noWait    bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Upload a CSV file and follow its import until it finishes",
		Long: `Uploads FILE (a progress bar counts its bytes), then follows the import job's rows until it
finishes, and prints the first rejected rows. The exit status is 1 when the job ends in ERROR.
Ctrl-C while the job runs asks whether to cancel it: y cancels it, n leaves it running.`,
		Example: `  co2 import equipment.csv --lab ENAC-LAB1 --kind equipment --year 2025
  co2 import flights.csv --lab ENAC-LAB1 --kind plane --year 2025 --replace`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if year < 1 {
				return errors.New("--year is required, for example --year 2025")
			}
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("the file to import: %w", err)
			}
			defer file.Close()
			info, err := file.Stat()
			if err != nil {
				return fmt.Errorf("the file to import: %w", err)
			}
			if info.IsDir() {
				return fmt.Errorf("%s is a directory: name a CSV file", args[0])
			}
			client := a.client()
			labID, err := a.resolveLab(cmd.Context(), client, lab)
			if err != nil {
				return err
			}
			interrupts := make(chan os.Signal, 1)
			signal.Notify(interrupts, os.Interrupt)
			defer signal.Stop(interrupts)

			job, err := a.upload(cmd.Context(), client, api.Upload{
				LabID: labID, Kind: kind, Year: year, Replace: replace, AllowDuplicate: duplicate, Filename: filepath.Base(args[0]), Body: file, Size: info.Size(),
			}, interrupts)
			if api.IsStatus(err, http.StatusConflict) && strings.Contains(err.Error(), "allow_duplicate") {
				return fmt.Errorf("%w (with co2: add --allow-duplicate)", err)
			}
			if err != nil {
				return err
			}
			if noWait {
				if a.jsonOutput() {
					return a.printJSON(job)
				}
				fmt.Fprintf(a.out, "Import %s is %s. Follow it with: co2 imports watch %s\n", job.ID, job.State, job.ID)
				return nil
			}
			return a.follow(cmd.Context(), client, job, interrupts)
		},
	}
	cmd.Flags().StringVar(&lab, "lab", "", "the lab (id or code; required)")
	cmd.Flags().StringVar(&kind, "kind", "", "the data-entry kind, for example equipment (co2 templates list; required)")
	cmd.Flags().IntVar(&year, "year", 0, "the reporting year (required)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the lab's earlier CSV rows of this year and module (default: append)")
	cmd.Flags().BoolVar(&duplicate, "allow-duplicate", false, "import a file again that was imported already into this lab, kind and year (refused otherwise)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the file is uploaded")
	_ = cmd.MarkFlagRequired("lab")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("year")
	return cmd
}

// upload sends the file with a bar of its bytes; Ctrl-C stops it (the
// server keeps nothing of an upload cut short).
func (a *app) upload(ctx context.Context, client *api.Client, upload api.Upload, interrupts <-chan os.Signal) (api.Import, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	interrupted := make(chan struct{})
	go func() {
		select {
		case <-interrupts:
			close(interrupted)
			stop()
		case <-ctx.Done():
		}
	}()
	if a.interactive() {
		bar := progressbar.NewOptions64(upload.Size,
			progressbar.OptionSetWriter(a.errOut),
			progressbar.OptionSetDescription("uploading "+upload.Filename),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*msDuration),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.errOut) }),
		)
		reader := progressbar.NewReader(upload.Body, bar)
		upload.Body = &reader
		defer func() { _ = bar.Finish() }()
	}
	job, err := client.UploadImport(ctx, upload)
	select {
	case <-interrupted:
		return job, &exitError{code: 130, message: "upload stopped: the server keeps nothing of it"}
	default:
	}
	if err != nil {
		return job, fmt.Errorf("upload %s: %w", upload.Filename, err)
	}
	return job, nil
}
