package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) templatesCommand() *cobra.Command {
	templates := &cobra.Command{Use: "templates", Short: "The CSV templates of the data-entry kinds"}
	list := &cobra.Command{
		Use:   "list",
		Short: "Every kind and its module",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			found, err := a.client().ListTemplates(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(found)
			}
			rows := make([][]string, 0, len(found))
			for _, template := range found {
				rows = append(rows, []string{template.Kind, template.Module, template.Description})
			}
			table(a.out, []string{"KIND", "MODULE", "DESCRIPTION"}, rows)
			return nil
		},
	}
	var file string
	get := &cobra.Command{
		Use:     "get KIND",
		Short:   "A kind's CSV template (its header and an example row)",
		Example: "  co2 templates get equipment -o equipment.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			csv, err := a.client().TemplateCSV(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if file == "" {
				if a.jsonOutput() {
					return a.printJSON(map[string]string{"kind": args[0], "csv": string(csv)})
				}
				_, err := a.out.Write(csv)
				return err
			}
			if err := writeFile(file, csv); err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]any{"kind": args[0], "file": file, "bytes": len(csv)})
			}
			fmt.Fprintf(a.out, "Wrote the %s template to %s.\n", args[0], file)
			return nil
		},
	}
	get.Flags().StringVarP(&file, "out", "o", "", "write the CSV to this file (default: standard output)")
	templates.AddCommand(list, get)
	return templates
}
