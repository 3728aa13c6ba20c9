// Package cli is the co2 command: cobra commands over the api and auth
// packages, tables for people, JSON for scripts.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/api"
	"github.com/co2-calculator/co2-calculator/tools/co2/internal/auth"
)

// The defaults match make run.
const (
	defaultGateway  = "http://localhost:8000"
	defaultIssuer   = "http://127.0.0.1:5556/dex"
	defaultClientID = "co2-cli"
	// defaultScopes ask Dex for a refresh token (offline_access), the roles
	// claim (groups) and a token whose audience is the API (co2-api).
	defaultScopes = "openid email profile groups offline_access audience:server:client_id:co2-api"
)

// app is what every command shares.
type app struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer

	gateway, issuer, clientID, clientSecret, scopes string
	output                                          string
}

// Main runs the command line args and returns the exit status.
func Main(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	a := &app{in: in, out: out, errOut: errOut}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.message != "" {
			fmt.Fprintln(errOut, "co2:", exit.message)
		}
		return exit.code
	}
	fmt.Fprintln(errOut, "co2:", err)
	return 1
}

// exitError ends the command with a status of its own.
type exitError struct {
	code    int
	message string
}

func (e *exitError) Error() string { return e.message }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "co2",
		Short: "The co2-calculator command-line client",
		Long: `co2 talks to a co2-calculator gateway: log in, register labs, import CSV files with live
progress, read reports and download exports.

  co2 login                      # once: a browser approves this terminal
  co2 labs list
  co2 import equipment.csv --lab ENAC-LAB1 --kind equipment --year 2025
  co2 report ENAC-LAB1 --year 2025`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return a.settle()
		},
	}
	flags := root.PersistentFlags()
	flags.StringVar(&a.gateway, "gateway", "", "the gateway's URL (env CO2_GATEWAY; default "+defaultGateway+")")
	flags.StringVar(&a.issuer, "issuer", "", "the OIDC issuer's URL (env CO2_ISSUER; default the one logged in at, else "+defaultIssuer+")")
	flags.StringVar(&a.clientID, "client-id", "", "the OIDC client (env CO2_CLIENT_ID; default "+defaultClientID+")")
	flags.StringVar(&a.clientSecret, "client-secret", "", "the client's secret, for --client-credentials (env CO2_CLIENT_SECRET)")
	flags.StringVar(&a.scopes, "scopes", "", "scopes asked for, space-separated (env CO2_SCOPES; default \""+defaultScopes+"\")")
	flags.StringVar(&a.output, "output", "text", "text for people, json for scripts")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(a.loginCommand(), a.logoutCommand(), a.labsCommand(), a.templatesCommand(),
		a.importCommand(), a.importsCommand(), a.reportCommand(), a.exportCommand())
	return root
}

// settle fills each setting from its flag, else its environment variable,
// else the login's (issuer) or the default.
func (a *app) settle() error {
	pick := func(value *string, env, fallback string) {
		if *value == "" {
			*value = os.Getenv(env)
		}
		if *value == "" {
			*value = fallback
		}
	}
	pick(&a.gateway, "CO2_GATEWAY", defaultGateway)
	if login, err := auth.Load(); err == nil {
		pick(&a.issuer, "CO2_ISSUER", login.Issuer)
	} else {
		pick(&a.issuer, "CO2_ISSUER", defaultIssuer)
	}
	pick(&a.clientID, "CO2_CLIENT_ID", defaultClientID)
	pick(&a.clientSecret, "CO2_CLIENT_SECRET", "")
	pick(&a.scopes, "CO2_SCOPES", defaultScopes)
	a.gateway = strings.TrimRight(a.gateway, "/")
	a.issuer = strings.TrimRight(a.issuer, "/")
	if a.output != "text" && a.output != "json" {
		return fmt.Errorf("--output %s: say text or json", a.output)
	}
	return nil
}

func (a *app) settings() auth.Settings {
	return auth.Settings{Issuer: a.issuer, ClientID: a.clientID, ClientSecret: a.clientSecret, Scopes: strings.Fields(a.scopes)}
}

// client is the API client, with the cached login's token. CO2_TOKEN, when
// set, is used as it is instead (a token a script got elsewhere).
func (a *app) client() *api.Client {
	if token := os.Getenv("CO2_TOKEN"); token != "" {
		return api.NewClient(a.gateway, func(context.Context) (string, error) { return token, nil })
	}
	source := &auth.Source{Settings: a.settings()}
	return api.NewClient(a.gateway, source.Token)
}

func (a *app) jsonOutput() bool { return a.output == "json" }

// printJSON writes v for scripts.
func (a *app) printJSON(v any) error {
	encoder := json.NewEncoder(a.out)
	encoder.SetIndent("", "  ")
	return encoder.Encode(v)
}

// interactive tells whether a person watches stderr (bars are drawn only
// then, and never under --output json).
func (a *app) interactive() bool {
	if a.jsonOutput() {
		return false
	}
	file, ok := a.errOut.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
