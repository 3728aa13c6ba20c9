package authn

import (
	"context"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// ServiceConfig is how a service obtains a token of its own, to act without
// a caller (workers). The token comes from the same issuer and is verified
// like any other; it must carry the service role in the roles claim.
type ServiceConfig struct {
	// Grant is client_credentials (Keycloak, Entra ID, Auth0...) or
	// password: a service account user, for providers without the
	// client-credentials grant such as the pinned Dex.
	Grant        string        `env:"OAUTH_SERVICE_GRANT, default=client_credentials"`
	ClientID     string        `env:"OAUTH_CLIENT_ID"`
	ClientSecret config.Secret `env:"OAUTH_CLIENT_SECRET"`
	Username     string        `env:"OAUTH_SERVICE_USERNAME"`
	Password     config.Secret `env:"OAUTH_SERVICE_PASSWORD"`
	// Scopes to ask for; by default none for client_credentials and, for
	// password, the OIDC scopes plus Dex's cross-client audience scope.
	Scopes []string `env:"OAUTH_SERVICE_SCOPES"`
}

// ServiceToken returns a TokenFunc that obtains, caches and renews the
// service's token.
func ServiceToken(ctx context.Context, auth Config, cfg ServiceConfig) (TokenFunc, error) {
	provider, err := oidc.NewProvider(context.WithoutCancel(ctx), auth.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", auth.IssuerURL, err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("OAUTH_CLIENT_ID is required for a service token")
	}
	var source oauth2.TokenSource
	switch cfg.Grant {
	case "client_credentials":
		source = (&clientcredentials.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			TokenURL: provider.Endpoint().TokenURL, Scopes: cfg.Scopes,
		}).TokenSource(context.WithoutCancel(ctx))
	case "password":
		if cfg.Username == "" || cfg.Password == "" {
			return nil, errors.New("OAUTH_SERVICE_USERNAME and OAUTH_SERVICE_PASSWORD are required with OAUTH_SERVICE_GRANT=password")
		}
		scopes := cfg.Scopes
		if len(scopes) == 0 {
			scopes = []string{oidc.ScopeOpenID, "email", "profile", "groups", "audience:server:client_id:" + auth.Audience}
		}
		oauthConfig := &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint: provider.Endpoint(), Scopes: scopes,
		}
		source = passwordSource{ctx: context.WithoutCancel(ctx), config: oauthConfig, username: cfg.Username, password: cfg.Password.Reveal()}
	default:
		return nil, fmt.Errorf("OAUTH_SERVICE_GRANT %q: want client_credentials or password", cfg.Grant)
	}
	reuse := oauth2.ReuseTokenSource(nil, source)
	return func(context.Context) (string, error) {
		token, err := reuse.Token()
		if err != nil {
			return "", fmt.Errorf("service token: %w", err)
		}
		return token.AccessToken, nil
	}, nil
}

// passwordSource runs the password grant for each new token.
type passwordSource struct {
	ctx                context.Context
	config             *oauth2.Config
	username, password string
}

func (p passwordSource) Token() (*oauth2.Token, error) {
	return p.config.PasswordCredentialsToken(p.ctx, p.username, p.password)
}
