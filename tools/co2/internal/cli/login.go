package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/auth"
)

func (a *app) loginCommand() *cobra.Command {
	var clientCredentials bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in: approve this terminal in a browser (device flow), or as a client (--client-credentials)",
		Example: `  co2 login
  co2 login --issuer https://id.example.org/realms/co2 --client-id co2-cli
  CO2_CLIENT_ID=nightly CO2_CLIENT_SECRET=... co2 login --client-credentials`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				login auth.Login
				err   error
			)
			if clientCredentials {
				if !cmd.Flags().Changed("client-id") && !envSet("CO2_CLIENT_ID") {
					return fmt.Errorf("--client-credentials needs the client's id and secret: --client-id and --client-secret, or CO2_CLIENT_ID and CO2_CLIENT_SECRET")
				}
				login, err = auth.ClientCredentialsLogin(cmd.Context(), a.settings())
			} else {
				login, err = auth.DeviceLogin(cmd.Context(), a.settings(), func(code auth.DeviceCode) {
					fmt.Fprintf(a.errOut, "To log in, open this page in a browser:\n\n  %s\n\nand check that it shows the code %s\n", code.VerificationURI, code.UserCode)
					if code.VerificationURIComplete != "" {
						fmt.Fprintf(a.errOut, "(or open %s, which fills it in)\n", code.VerificationURIComplete)
					}
					fmt.Fprintln(a.errOut, "\nWaiting for the approval (Ctrl-C gives up)...")
				})
			}
			if err != nil {
				return err
			}
			if err := auth.Save(login); err != nil {
				return err
			}
			who := auth.Who(login.Token)
			path, _ := auth.CachePath()
			if a.jsonOutput() {
				return a.printJSON(map[string]any{
					"issuer": login.Issuer, "clientId": login.ClientID, "grant": login.Grant,
					"subject": who.Subject, "email": who.Email, "expiry": login.Token.Expiry.UTC().Format(time.RFC3339), "tokenFile": path,
				})
			}
			name := who.Email
			if name == "" {
				name = who.Subject
			}
			fmt.Fprintf(a.out, "Logged in at %s as %s (token kept in %s).\n", login.Issuer, name, path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientCredentials, "client-credentials", false, "log in as a client with its id and secret (for scripts)")
	return cmd
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the login (delete the token file)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			removed, err := auth.Remove()
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]bool{"loggedOut": removed})
			}
			if removed {
				fmt.Fprintln(a.out, "Logged out.")
			} else {
				fmt.Fprintln(a.out, "Not logged in.")
			}
			return nil
		},
	}
}
