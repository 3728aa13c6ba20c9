// Package authntest is an OIDC issuer for tests: discovery and a JWKS
// served over real HTTP, like any provider, with signing keys the test holds,
// so a test can mint tokens with whatever claims it needs.
package authntest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// Audience is the audience the issuer's tokens carry by default.
const Audience = "co2-api"

// Issuer serves discovery at URL/.well-known/openid-configuration.
type Issuer struct {
	URL string
	RSA *rsa.PrivateKey // published as kid "rsa-1"
	EC  *ecdsa.PrivateKey

	mu         sync.Mutex
	keys       jose.JSONWebKeySet
	keyFetches int
}

// NewIssuer starts an issuer that stops when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer := &Issuer{RSA: rsaKey, EC: ecKey}
	issuer.keys.Keys = []jose.JSONWebKey{
		{Key: rsaKey.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: ecKey.Public(), KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}
	mux := http.NewServeMux()
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	issuer.URL = server.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": issuer.URL, "jwks_uri": issuer.URL + "/keys", "token_endpoint": issuer.URL + "/token",
			"authorization_endpoint": issuer.URL + "/auth", "id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		issuer.mu.Lock()
		defer issuer.mu.Unlock()
		issuer.keyFetches++
		_ = json.NewEncoder(w).Encode(issuer.keys)
	})
	return issuer
}

// Publish adds a key to the JWKS, as a provider does when it rotates.
func (i *Issuer) Publish(key any, kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys.Keys = append(i.keys.Keys, jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: "RS256", Use: "sig"})
}

// KeyFetches is how many times the key set was fetched.
func (i *Issuer) KeyFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keyFetches
}

// Claims returns valid claims for subject, changed by overrides (a nil
// value removes the claim).
func (i *Issuer) Claims(subject string, overrides map[string]any) map[string]any {
	now := time.Now()
	claims := map[string]any{
		"iss": i.URL, "sub": subject, "aud": []string{Audience, "co2-cli"},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(),
		"email": subject + "@example.com", "email_verified": true,
	}
	for key, value := range overrides {
		if value == nil {
			delete(claims, key)
		} else {
			claims[key] = value
		}
	}
	return claims
}

// Token returns a valid RS256 token for subject holding the global roles
// (in the groups claim).
func (i *Issuer) Token(t testing.TB, subject string, roles ...string) string {
	t.Helper()
	return Sign(t, i.RSA, jose.RS256, "rsa-1", i.Claims(subject, map[string]any{"groups": roles}))
}

// Sign signs claims with key, naming kid in the header.
func Sign(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := signed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// Verifier returns a verifier that trusts this issuer's tokens for
// Audience, with global roles in the groups claim, as the services
// configure theirs.
func (i *Issuer) Verifier(t testing.TB) *authn.Verifier {
	t.Helper()
	verifier, err := authn.NewVerifier(context.Background(), authn.Config{
		IssuerURL: i.URL, Audience: Audience, RolesClaim: "groups", ClockSkew: time.Minute, DiscoveryTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return verifier
}
