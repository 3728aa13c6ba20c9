package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Settings say which issuer and client to log in with.
type Settings struct {
	Issuer   string
	ClientID string
	// ClientSecret is for client credentials only: the device flow's client
	// is public.
	ClientSecret string
	Scopes       []string
}

// issuerTimeout bounds every call to the issuer.
const issuerTimeout = 30 * time.Second

// discovery is the part of the issuer's metadata the client uses.
type discovery struct {
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	GrantTypesSupported         []string `json:"grant_types_supported"`
}

func httpClient() *http.Client { return &http.Client{Timeout: issuerTimeout} }

// discover reads <issuer>/.well-known/openid-configuration.
func discover(ctx context.Context, issuer string) (discovery, error) {
	var meta discovery
	url := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return meta, err
	}
	response, err := httpClient().Do(request)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return meta, fmt.Errorf("cannot reach the issuer: is it running at %s? (make run starts Dex there), or name another with --issuer or CO2_ISSUER", issuer)
		}
		return meta, fmt.Errorf("issuer %s: %w", issuer, err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return meta, fmt.Errorf("issuer %s: %s answers %s: is that the issuer's URL?", issuer, url, response.Status)
	}
	if err := json.NewDecoder(io.LimitReader(response.Body, 1<<20)).Decode(&meta); err != nil {
		return meta, fmt.Errorf("issuer %s: reading its metadata: %w", issuer, err)
	}
	if meta.TokenEndpoint == "" {
		return meta, fmt.Errorf("issuer %s: its metadata names no token endpoint", issuer)
	}
	return meta, nil
}

// withHTTP makes oauth2 use a bounded client.
func withHTTP(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, httpClient())
}

// DeviceCode is what the person is asked to do.
type DeviceCode struct {
	VerificationURI         string
	VerificationURIComplete string
	UserCode                string
}

// DeviceLogin runs the device authorization flow: show tells the person
// where to go and which code to check; it returns once they approved (or
// refused, or the code expired, or ctx ended).
func DeviceLogin(ctx context.Context, settings Settings, show func(DeviceCode)) (Login, error) {
	meta, err := discover(ctx, settings.Issuer)
	if err != nil {
		return Login{}, err
	}
	if meta.DeviceAuthorizationEndpoint == "" {
		return Login{}, fmt.Errorf("issuer %s offers no device authorization endpoint: log in with co2 login --client-credentials, or enable the device grant there", settings.Issuer)
	}
	config := oauth2.Config{
		ClientID: settings.ClientID,
		Scopes:   settings.Scopes,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: meta.DeviceAuthorizationEndpoint, TokenURL: meta.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	ctx = withHTTP(ctx)
	code, err := config.DeviceAuth(ctx)
	if err != nil {
		return Login{}, fmt.Errorf("start the device login at %s: %w", settings.Issuer, describe(err))
	}
	show(DeviceCode{VerificationURI: code.VerificationURI, VerificationURIComplete: code.VerificationURIComplete, UserCode: code.UserCode})
	token, err := config.DeviceAccessToken(ctx, code)
	if err != nil {
		return Login{}, fmt.Errorf("device login: %w", describe(err))
	}
	return Login{Issuer: settings.Issuer, ClientID: settings.ClientID, Grant: GrantDevice, Token: token}, nil
}

// ClientCredentialsLogin gets a token with the client's own id and secret.
func ClientCredentialsLogin(ctx context.Context, settings Settings) (Login, error) {
	if settings.ClientID == "" || settings.ClientSecret == "" {
		return Login{}, errors.New("client credentials need a client id and secret: --client-id and --client-secret, or CO2_CLIENT_ID and CO2_CLIENT_SECRET")
	}
	meta, err := discover(ctx, settings.Issuer)
	if err != nil {
		return Login{}, err
	}
	config := clientcredentials.Config{ClientID: settings.ClientID, ClientSecret: settings.ClientSecret, TokenURL: meta.TokenEndpoint, Scopes: settings.Scopes}
	token, err := config.Token(withHTTP(ctx))
	if err != nil {
		return Login{}, fmt.Errorf("client-credentials login at %s: %w", settings.Issuer, describe(err))
	}
	return Login{Issuer: settings.Issuer, ClientID: settings.ClientID, Grant: GrantClientCredentials, Token: token}, nil
}

// describe turns the issuer's OAuth error into its code and description.
func describe(err error) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) && retrieve.ErrorCode != "" {
		text := "the issuer answers " + retrieve.ErrorCode
		if retrieve.ErrorDescription != "" {
			text += " (" + retrieve.ErrorDescription + ")"
		}
		switch retrieve.ErrorCode {
		case "unsupported_grant_type":
			text += ": this issuer does not offer that grant to the client"
		case "access_denied":
			text += ": the login was refused"
		case "expired_token":
			text += ": the code expired before it was approved; run co2 login again"
		}
		return errors.New(text)
	}
	return err
}

// Claims are what the token says about its holder (read, not verified:
// for showing who is logged in; the gateway verifies tokens).
type Claims struct {
	Subject string `json:"sub"`
	Email   string `json:"email"`
	Name    string `json:"name"`
}

// Who reads the claims of a JWT access token; empty for other tokens.
func Who(token *oauth2.Token) Claims {
	var claims Claims
	parts := strings.Split(token.AccessToken, ".")
	if len(parts) != 3 {
		return claims
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		_ = json.Unmarshal(payload, &claims)
	}
	return claims
}
