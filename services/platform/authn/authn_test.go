package authn_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authn/authntest"
)

// handmade builds a token from a header and claims with a raw signature.
func handmade(header, claims map[string]any, signature func(signingInput string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(signature(input))
}

func newVerifier(t *testing.T, iss *authntest.Issuer, configure func(*authn.Config)) *authn.Verifier {
	t.Helper()
	cfg := authn.Config{IssuerURL: iss.URL, Audience: "co2-api", RolesClaim: "groups", ClockSkew: 30 * time.Second, DiscoveryTimeout: 5 * time.Second}
	if configure != nil {
		configure(&cfg)
	}
	verifier, err := authn.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return verifier
}

func TestValidTokensBecomePrincipals(t *testing.T) {
	iss := authntest.NewIssuer(t)
	verifier := newVerifier(t, iss, func(cfg *authn.Config) { cfg.AdminEmails = []string{"boss@example.com"} })
	for _, alg := range []struct {
		key any
		alg jose.SignatureAlgorithm
		kid string
	}{{iss.RSA, jose.RS256, "rsa-1"}, {iss.EC, jose.ES256, "ec-1"}} {
		principal, err := verifier.Verify(context.Background(), authntest.Sign(t, alg.key, alg.alg, alg.kid, iss.Claims("user-1", groups)))
		if err != nil {
			t.Fatalf("%s: %v", alg.alg, err)
		}
		// Only known global roles are kept; the email is compared lower-cased.
		if principal.Subject != "user-1" || principal.Email != "member@example.com" || strings.Join(principal.Roles, ",") != "auditor" {
			t.Fatalf("%s: principal %+v", alg.alg, principal)
		}
	}
	// A few seconds of clock skew are tolerated.
	principal, err := verifier.Verify(context.Background(), authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{
		"exp": time.Now().Add(-10 * time.Second).Unix(), "nbf": time.Now().Add(10 * time.Second).Unix(),
	}))))
	if err != nil {
		t.Fatalf("within the skew: %v", err)
	}
	// Bootstrap admins by verified email; a roles claim may be one string.
	principal, err = verifier.Verify(context.Background(), authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{
		"email": "boss@example.com", "groups": "service:calc",
	}))))
	if err != nil || strings.Join(principal.Roles, ",") != "admin,service:calc" {
		t.Fatalf("bootstrap admin: %+v %v", principal, err)
	}
	principal, err = verifier.Verify(context.Background(), authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{
		"email": "boss@example.com", "email_verified": false, "groups": nil,
	}))))
	if err != nil || len(principal.Roles) != 0 {
		t.Fatalf("an unverified email makes no admin: %+v %v", principal, err)
	}
	// A global validator; unknown roles are ignored.
	principal, err = verifier.Verify(context.Background(), authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{
		"groups": []string{"validator", "physics"},
	}))))
	if err != nil || strings.Join(principal.Roles, ",") != "validator" {
		t.Fatalf("a global validator: %+v %v", principal, err)
	}
}

func TestTheAttackTableIsRefused(t *testing.T) {
	iss := authntest.NewIssuer(t)
	verifier := newVerifier(t, iss, nil)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	valid := authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", groups))
	parts := strings.Split(valid, ".")
	publicDER, _ := x509.MarshalPKIXPublicKey(iss.RSA.Public())

	rows := []struct {
		name  string
		token string
		says  string
	}{
		{"empty", "", "malformed"},
		{"malformed", "not-a-jwt", "malformed"},
		{"alg none", handmade(map[string]any{"alg": "none", "typ": "JWT"}, iss.Claims("user-1", groups), func(string) []byte { return nil }), "signature"},
		{"HS256 keyed with the public key", handmade(map[string]any{"alg": "HS256", "kid": "rsa-1"}, iss.Claims("user-1", groups), func(input string) []byte {
			mac := hmac.New(sha256.New, publicDER)
			mac.Write([]byte(input))
			return mac.Sum(nil)
		}), "signature"},
		{"wrong issuer", authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"iss": "https://evil.example.com"}))), "different provider"},
		{"wrong audience", authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"aud": "someone-else"}))), "audience"},
		{"expired", authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))), "expired"},
		{"no expiry", authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"exp": nil}))), "expiry"},
		{"not yet valid", authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"nbf": time.Now().Add(2 * time.Minute).Unix()}))), "not valid before"},
		{"unknown kid", authntest.Sign(t, stranger, jose.RS256, "rsa-unknown", iss.Claims("user-1", groups)), "signature"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(iss.Claims("user-1", with(groups, map[string]any{"groups": []string{"admin"}})))) + "." + parts[2], "signature"},
		{"signed by a key the issuer never published", authntest.Sign(t, stranger, jose.RS256, "rsa-1", iss.Claims("user-1", groups)), "signature"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			_, err := verifier.Verify(context.Background(), row.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), row.says) {
				t.Fatalf("refused, but the reason %q does not say %q", err, row.says)
			}
		})
	}
}

func TestRotatedKeysAreFetched(t *testing.T) {
	iss := authntest.NewIssuer(t)
	verifier := newVerifier(t, iss, nil)
	if _, err := verifier.Verify(context.Background(), authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", groups))); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates to a new key; tokens signed with it verify without
	// restarting anything.
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	iss.Publish(rotated.Public(), "rsa-2")
	if _, err := verifier.Verify(context.Background(), authntest.Sign(t, rotated, jose.RS256, "rsa-2", iss.Claims("user-1", groups))); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// Tokens signed with keys the issuer never published cost a signature
// check each, not a fetch of the issuer's keys.
func TestForgedTokensDoNotMakeTheVerifierFetchKeys(t *testing.T) {
	iss := authntest.NewIssuer(t)
	verifier := newVerifier(t, iss, func(cfg *authn.Config) { cfg.KeysMinRefresh = time.Hour })
	if _, err := verifier.Verify(context.Background(), iss.Token(t, "user-1")); err != nil {
		t.Fatal(err)
	}
	fetched := iss.KeyFetches()
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := range 200 {
		forged := authntest.Sign(t, forger, jose.RS256, fmt.Sprintf("forged-%d", i), iss.Claims("user-1", groups))
		if _, err := verifier.Verify(context.Background(), forged); err == nil {
			t.Fatal("a forged token was accepted")
		}
	}
	if extra := iss.KeyFetches() - fetched; extra != 0 {
		t.Fatalf("200 forged tokens made the verifier fetch the issuer's keys %d times", extra)
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "": ""} {
		if got := authn.BearerToken(header); got != want {
			t.Errorf("%q: %q, want %q", header, got, want)
		}
	}
}

// groups are the test tokens' roles claim: one known role, one unrelated.
var groups = map[string]any{"email": "Member@Example.com", "groups": []string{"auditor", "physics"}}

// with returns base changed by overrides.
func with(base, overrides map[string]any) map[string]any {
	merged := map[string]any{}
	for key, value := range base {
		merged[key] = value
	}
	for key, value := range overrides {
		merged[key] = value
	}
	return merged
}

func mustJSON(value any) []byte {
	raw, _ := json.Marshal(value)
	return raw
}

// A verified token is remembered, but never past its expiry, and only the
// very token that was verified is.
func TestVerifiedTokensAreRememberedUntilTheyExpire(t *testing.T) {
	iss := authntest.NewIssuer(t)
	verifier := newVerifier(t, iss, func(cfg *authn.Config) {
		cfg.ClockSkew = 0
		cfg.VerifiedCacheSize, cfg.VerifiedCacheTTL = 10, time.Minute
	})
	expiry := time.Now().Add(2 * time.Second).Truncate(time.Second)
	token := authntest.Sign(t, iss.RSA, jose.RS256, "rsa-1", iss.Claims("user-1", with(groups, map[string]any{"exp": expiry.Unix()})))
	if _, known := verifier.Verified(token); known {
		t.Fatal("a token never verified is known")
	}
	principal, err := verifier.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	remembered, known := verifier.Verified(token)
	if !known || remembered.Subject != "user-1" || strings.Join(remembered.Roles, ",") != strings.Join(principal.Roles, ",") {
		t.Fatalf("after verifying: %+v, %v", remembered, known)
	}
	// Another token of the same caller is not taken for it; one with a
	// byte changed fails as it always did.
	if _, known := verifier.Verified(token + "x"); known {
		t.Fatal("a different token is known")
	}
	if _, err := verifier.Verify(context.Background(), changedSignature(token)); err == nil {
		t.Fatal("a token with a changed signature was accepted")
	}
	time.Sleep(time.Until(expiry.Add(1100 * time.Millisecond)))
	if _, known := verifier.Verified(token); known {
		t.Fatal("an expired token is still known")
	}
	if _, err := verifier.Verify(context.Background(), token); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token verified before: %v, want expired", err)
	}
}

// changedSignature changes one character inside the token's signature (its
// last characters may carry padding bits only, and could decode to the same
// bytes).
func changedSignature(token string) string {
	signature := strings.LastIndexByte(token, '.') + 10
	replacement := byte('A')
	if token[signature] == 'A' {
		replacement = 'B'
	}
	return token[:signature] + string(replacement) + token[signature+1:]
}
