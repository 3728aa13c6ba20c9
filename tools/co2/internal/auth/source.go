package auth

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Source gives the API calls a valid access token: the cached one, renewed
// with its refresh token (or, for a client-credentials login, the client's
// secret when it is at hand) once it expired, the renewed one saved.
type Source struct {
	Settings Settings

	mu    sync.Mutex
	login *Login
}

// Token returns a valid access token.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.login == nil {
		login, err := Load()
		if err != nil {
			return "", err
		}
		if login.Issuer != s.Settings.Issuer {
			return "", fmt.Errorf("logged in at %s, not at %s: run co2 login", login.Issuer, s.Settings.Issuer)
		}
		s.login = &login
	}
	if s.login.Token.Valid() {
		return s.login.Token.AccessToken, nil
	}
	renewed, err := s.renew(ctx)
	if err != nil {
		return "", err
	}
	s.login.Token = renewed
	if err := Save(*s.login); err != nil {
		return "", err
	}
	return renewed.AccessToken, nil
}

// renew gets a new token for the expired one.
func (s *Source) renew(ctx context.Context) (*oauth2.Token, error) {
	meta, err := discover(ctx, s.login.Issuer)
	if err != nil {
		return nil, err
	}
	ctx = withHTTP(ctx)
	if s.login.Grant == GrantClientCredentials {
		if s.Settings.ClientSecret == "" || s.Settings.ClientID != s.login.ClientID {
			return nil, fmt.Errorf("the client-credentials login of %s expired: run co2 login --client-credentials, or set CO2_CLIENT_ID and CO2_CLIENT_SECRET", s.login.ClientID)
		}
		config := clientcredentials.Config{ClientID: s.login.ClientID, ClientSecret: s.Settings.ClientSecret, TokenURL: meta.TokenEndpoint, Scopes: s.Settings.Scopes}
		token, err := config.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("renew the client-credentials login: %w", describe(err))
		}
		return token, nil
	}
	if s.login.Token.RefreshToken == "" {
		return nil, fmt.Errorf("the login expired: run co2 login")
	}
	config := oauth2.Config{ClientID: s.login.ClientID, Endpoint: oauth2.Endpoint{TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}
	// An expired copy makes the source refresh at once.
	expired := *s.login.Token
	token, err := config.TokenSource(ctx, &expired).Token()
	if err != nil {
		return nil, fmt.Errorf("the login expired and could not be renewed (%w): run co2 login", describe(err))
	}
	return token, nil
}
