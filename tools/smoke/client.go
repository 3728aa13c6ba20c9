package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

type settings struct {
	gateway, tokenURL, username, password, clientID, clientSecret, scope string
}

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func (s *settings) register(flags *flag.FlagSet) {
	flags.StringVar(&s.gateway, "gateway", env("SMOKE_GATEWAY", "http://127.0.0.1:8000"), "the gateway's base URL")
	flags.StringVar(&s.tokenURL, "token-url", env("SMOKE_TOKEN_URL", ""), "the identity provider's token endpoint (empty: unauthenticated checks only)")
	flags.StringVar(&s.username, "username", env("SMOKE_USERNAME", ""), "an admin's login (password grant); empty: client credentials")
	flags.StringVar(&s.password, "password", env("SMOKE_PASSWORD", ""), "that admin's password")
	flags.StringVar(&s.clientID, "client-id", env("SMOKE_CLIENT_ID", "co2-cli"), "the OAuth client")
	flags.StringVar(&s.clientSecret, "client-secret", env("SMOKE_CLIENT_SECRET", ""), "the client's secret (none for a public client)")
	flags.StringVar(&s.scope, "scope", env("SMOKE_SCOPE", "openid email profile groups audience:server:client_id:co2-api"),
		"scopes asked for (Dex's default names the API's audience)")
}

// client calls the gateway, with a token once it has one.
type client struct {
	gateway string
	token   string
	http    *http.Client
}

func newClient(ctx context.Context, s settings) (*client, error) {
	c := &client{gateway: strings.TrimSuffix(s.gateway, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	if s.tokenURL == "" {
		return c, nil
	}
	form := url.Values{"client_id": {s.clientID}, "scope": {s.scope}}
	if s.username != "" {
		form.Set("grant_type", "password")
		form.Set("username", s.username)
		form.Set("password", s.password)
	} else {
		form.Set("grant_type", "client_credentials")
	}
	if s.clientSecret != "" {
		form.Set("client_secret", s.clientSecret)
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	response, err := c.http.Do(request)
	if err != nil {
		return nil, fmt.Errorf("token from %s: %w", s.tokenURL, err)
	}
	defer response.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(response.Body, 1<<20)).Decode(&answer); err != nil {
		return nil, fmt.Errorf("token from %s: %s: %w", s.tokenURL, response.Status, err)
	}
	if answer.AccessToken == "" {
		return nil, fmt.Errorf("no token from %s: %s %s %s", s.tokenURL, response.Status, answer.Error, answer.Description)
	}
	c.token = answer.AccessToken
	return c, nil
}

// call sends a request and decodes the JSON answer; a status other than
// want is an error naming the call and the answer.
func (c *client) call(ctx context.Context, method, path, contentType string, body io.Reader, want int) (map[string]any, error) {
	request, err := http.NewRequestWithContext(ctx, method, c.gateway+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		request.Header.Set("Authorization", "Bearer "+c.token)
	}
	response, err := c.http.Do(request)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(response.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if response.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s, want %d: %.300s", method, path, response.Status, want, raw)
	}
	answer := map[string]any{}
	if strings.HasPrefix(response.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &answer); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return answer, nil
}

func (c *client) json(ctx context.Context, method, path, body string, want int) (map[string]any, error) {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	return c.call(ctx, method, path, "application/json", reader, want)
}

// authenticated says whether the settings gave a token.
func (c *client) authenticated() bool { return c.token != "" }

var errNoToken = errors.New("this check needs a token: set -token-url and credentials")
