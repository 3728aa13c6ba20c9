package cli

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
)

func envSet(name string) bool { return os.Getenv(name) != "" }

func (a *app) labsCommand() *cobra.Command {
	labs := &cobra.Command{Use: "labs", Short: "List, register and show labs"}
	var (
		filter api.LabFilter
		limit  int
	)
	list := &cobra.Command{
		Use:     "list",
		Short:   "The labs you can see",
		Example: "  co2 labs list --name-contains chem",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit %d: at least 1", limit)
			}
			found, err := a.client().ListLabs(cmd.Context(), filter, limit)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				if found == nil {
					found = []api.Lab{}
				}
				return a.printJSON(found)
			}
			if len(found) == 0 {
				fmt.Fprintln(a.out, "No labs you can see.")
				return nil
			}
			rows := make([][]string, 0, len(found))
			for _, lab := range found {
				rows = append(rows, []string{lab.Code, lab.Name, lab.Country, lab.ID, archived(lab)})
			}
			table(a.out, []string{"CODE", "NAME", "COUNTRY", "ID", ""}, rows)
			return nil
		},
	}
	list.Flags().StringVar(&filter.NameContains, "name-contains", "", "only labs whose name contains this")
	list.Flags().StringVar(&filter.ParentID, "parent", "", "only the direct sub-labs of this lab (id)")
	list.Flags().BoolVar(&filter.IncludeArchived, "archived", false, "include archived labs")
	list.Flags().IntVar(&limit, "limit", 1000, "at most this many labs")

	var lab api.Lab
	create := &cobra.Command{
		Use:     "create",
		Short:   "Register a lab",
		Example: "  co2 labs create --code ENAC-LAB1 --name \"Lab 1\" --country CH",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := a.client()
			if lab.ParentID != "" {
				parent, err := a.resolveLab(cmd.Context(), client, lab.ParentID)
				if err != nil {
					return err
				}
				lab.ParentID = parent
			}
			created, err := client.CreateLab(cmd.Context(), lab)
			if err != nil {
				return err
			}
			return a.showLab(created)
		},
	}
	create.Flags().StringVar(&lab.Code, "code", "", "the institutional code, unique (required)")
	create.Flags().StringVar(&lab.Name, "name", "", "the lab's name (required)")
	create.Flags().StringVar(&lab.Country, "country", "", "ISO 3166-1 alpha-2 country code, for example CH (required)")
	create.Flags().StringVar(&lab.ParentID, "parent", "", "the parent lab (id or code)")
	create.Flags().StringVar(&lab.Description, "description", "", "free text")
	for _, name := range []string{"code", "name", "country"} {
		_ = create.MarkFlagRequired(name)
	}

	show := &cobra.Command{
		Use:     "show LAB",
		Short:   "One lab (by id or code)",
		Example: "  co2 labs show ENAC-LAB1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client := a.client()
			id, err := a.resolveLab(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			found, err := client.GetLab(cmd.Context(), id)
			if err != nil {
				return err
			}
			return a.showLab(found)
		},
	}
	labs.AddCommand(list, create, show)
	return labs
}

func archived(lab api.Lab) string {
	if lab.ArchivedAt != "" {
		return "archived"
	}
	return ""
}

func (a *app) showLab(lab api.Lab) error {
	if a.jsonOutput() {
		return a.printJSON(lab)
	}
	rows := [][]string{{"id", lab.ID}, {"code", lab.Code}, {"name", lab.Name}, {"country", lab.Country}}
	if lab.ParentID != "" {
		rows = append(rows, []string{"parent", lab.ParentID})
	}
	if lab.Description != "" {
		rows = append(rows, []string{"description", lab.Description})
	}
	rows = append(rows, []string{"created", lab.CreatedAt})
	if lab.ArchivedAt != "" {
		rows = append(rows, []string{"archived", lab.ArchivedAt})
	}
	for _, row := range rows {
		fmt.Fprintf(a.out, "%-12s %s\n", row[0], row[1])
	}
	return nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// maxLabsSearched bounds the search of a lab by its code.
const maxLabsSearched = 10000

// resolveLab takes a lab's id, or its code (looked up among the labs the
// caller can see, whatever its case).
func (a *app) resolveLab(ctx context.Context, client *api.Client, lab string) (string, error) {
	if uuidPattern.MatchString(lab) {
		return lab, nil
	}
	labs, err := client.ListLabs(ctx, api.LabFilter{IncludeArchived: true}, maxLabsSearched)
	if err != nil {
		return "", err
	}
	for _, candidate := range labs {
		if strings.EqualFold(candidate.Code, lab) {
			return candidate.ID, nil
		}
	}
	return "", &api.Error{Status: 404, Message: "no lab " + lab + " you can see (co2 labs list shows yours)"}
}
