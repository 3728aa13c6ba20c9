package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

func (a *app) reportCommand() *cobra.Command {
	var (
		query api.ReportQuery
		file  string
	)
	cmd := &cobra.Command{
		Use:   "report LAB",
		Short: "A lab's report for a year: a table, or JSON, CSV or an SVG chart",
		Example: `  co2 report ENAC-LAB1 --year 2025
  co2 report ENAC-LAB1 --year 2025 --sublabs --format csv -o report.csv
  co2 report ENAC-LAB1 --year 2025 --format svg -o modules.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch query.Format {
			case "", "table", "json", "csv", "svg":
			default:
				return fmt.Errorf("--format %s: say json, csv or svg", query.Format)
			}
			if query.Year < 0 {
				return fmt.Errorf("--year %d: a year, for example 2025", query.Year)
			}
			client := a.client()
			labID, err := a.resolveLab(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			query.LabID = labID
			if query.Year == 0 {
				if query.Year, err = a.latestYear(cmd.Context(), client, query); err != nil {
					return err
				}
			}
			if query.Format == "" || query.Format == "table" {
				if a.jsonOutput() {
					query.Format = "json"
				} else if file == "" {
					return a.printReport(cmd.Context(), client, query, args[0])
				} else {
					query.Format = "json"
				}
			}
			if file == "" {
				if query.Format == "json" {
					_, raw, err := client.Report(cmd.Context(), query)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(a.out, string(raw))
					return err
				}
				return client.ReportFile(cmd.Context(), query, a.out)
			}
			if err := writeFileFrom(file, func(w io.Writer) error { return client.ReportFile(cmd.Context(), query, w) }); err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]any{"labId": labID, "year": query.Year, "format": query.Format, "file": file})
			}
			fmt.Fprintf(a.out, "Wrote the %d report of %s (%s) to %s.\n", query.Year, args[0], query.Format, file)
			return nil
		},
	}
	cmd.Flags().IntVar(&query.Year, "year", 0, "the reporting year (default: the latest with data)")
	cmd.Flags().BoolVar(&query.IncludeSublabs, "sublabs", false, "sum the lab and all its sub-labs")
	cmd.Flags().StringVar(&query.Format, "format", "", "json, csv or svg (default: a table in the terminal)")
	cmd.Flags().StringVarP(&file, "out", "o", "", "write the report to this file")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"json", "csv", "svg"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// latestYear asks for the lab's years when none was named (a gateway that
// reports the latest year by itself would do as well; this works with any).
func (a *app) latestYear(ctx context.Context, client *api.Client, query api.ReportQuery) (int, error) {
	year, err := client.LatestReportYear(ctx, query.LabID)
	if err != nil {
		return 0, err
	}
	if year == 0 {
		return 0, &api.Error{Status: http.StatusNotFound, Message: "lab " + query.LabID + " has no data in any year yet: import some (co2 import), or name --year"}
	}
	return year, nil
}

// printReport writes the report as a table.
func (a *app) printReport(ctx context.Context, client *api.Client, query api.ReportQuery, name string) error {
	report, _, err := client.Report(ctx, query)
	if err != nil {
		return err
	}
	scope := ""
	if report.IncludeSublabs {
		scope = ", with its sub-labs"
	}
	fmt.Fprintf(a.out, "Lab %s, %d%s\n\n", name, report.Year, scope)
	line := func(label string, total api.Total) []string {
		return []string{label, kg(total.KgCO2e), fmt.Sprintf("%.3f", total.TCO2e), "± " + kg(total.UncertaintyKg)}
	}
	rows := [][]string{
		line("Total", report.Total),
		line("Scope 1", report.Scope1),
		line("Scope 2 (location-based)", report.Scope2LocationBased),
		line("Scope 2 (market-based)", report.Scope2MarketBased),
		line("Scope 3", report.Scope3),
	}
	table(a.out, []string{"", "KG CO2E", "T CO2E", "UNCERTAINTY"}, rows)
	if len(report.Modules) > 0 {
		fmt.Fprintln(a.out)
		modules := make([][]string, 0, len(report.Modules))
		for _, module := range report.Modules {
			modules = append(modules, []string{module.Module, kg(module.Total.KgCO2e), fmt.Sprintf("%.3f", module.Total.TCO2e), fmt.Sprint(module.Entries)})
		}
		table(a.out, []string{"MODULE", "KG CO2E", "T CO2E", "ENTRIES"}, modules)
	}
	fmt.Fprintln(a.out)
	if report.KgCO2ePerFTE != nil {
		fmt.Fprintf(a.out, "Per FTE: %s kg CO2e (%.1f FTE)\n", kg(*report.KgCO2ePerFTE), report.FTE)
	}
	fmt.Fprintf(a.out, "As car travel: %s km\n", kg(report.EquivalentCarKm))
	if report.PreviousYear != nil {
		change := ""
		if report.ChangePct != nil {
			change = fmt.Sprintf(" (%+.1f %%)", *report.ChangePct)
		}
		fmt.Fprintf(a.out, "Previous year: %s kg CO2e%s\n", kg(report.PreviousYear.KgCO2e), change)
	}
	fmt.Fprintf(a.out, "From %d entries and %d imports.\n", report.Entries, report.Imports)
	return nil
}
