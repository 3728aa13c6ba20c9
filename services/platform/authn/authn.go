// Package authn verifies OIDC bearer tokens (issuer discovery, cached JWKS
// with rotation, audience, RS256/ES256, a small clock skew) and turns them
// into the Principal every service authorizes. The gateway and every service
// verify with this same code: no request is trusted for where it comes from.
package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

// Global roles a token can carry.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	// RoleValidator validates every lab's activity data (it may also be
	// held on one lab, as a membership).
	RoleValidator = "validator"
	// ServiceRolePrefix starts the role of a service acting on its own (a
	// worker): service:calc, service:reporting... Each service's role
	// reaches the internal calls that service makes, and nothing else.
	ServiceRolePrefix = "service:"
)

// ServiceRole is the role of the service named name.
func ServiceRole(name string) string { return ServiceRolePrefix + name }

// isServiceRole reports a well-formed service role: service:<name>, the
// name in lower-case letters and dashes.
func isServiceRole(role string) bool {
	name, found := strings.CutPrefix(role, ServiceRolePrefix)
	if !found || name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// Config is the authentication part of every service's configuration.
type Config struct {
	// IssuerURL is the OIDC issuer; its discovery document names the JWKS.
	IssuerURL string `env:"OAUTH_ISSUER_URL, default=http://127.0.0.1:5556/dex"`
	// Audience must be in every token's aud claim.
	Audience string `env:"OAUTH_AUDIENCE, default=co2-api"`
	// RolesClaim is the claim holding global roles (admin, auditor,
	// service:<name>): a list of strings or one string, for example groups (Dex,
	// Keycloak with a group mapper) or roles (Entra ID app roles).
	RolesClaim string `env:"OAUTH_ROLES_CLAIM, default=groups"`
	// AdminSubjects and AdminEmails make these callers admins whatever
	// their token says, to bootstrap a new installation.
	AdminSubjects []string `env:"ADMIN_SUBJECTS"`
	AdminEmails   []string `env:"ADMIN_EMAILS"`
	// ClockSkew is how far the issuer's clock and ours may disagree.
	ClockSkew time.Duration `env:"OAUTH_CLOCK_SKEW, default=30s"`
	// DiscoveryTimeout bounds how long a process waits at start for the
	// issuer to answer.
	DiscoveryTimeout time.Duration `env:"OAUTH_DISCOVERY_TIMEOUT, default=60s"`
	// VerifiedCacheSize tokens, once verified, are taken at their word for
	// VerifiedCacheTTL (never past their expiry) without checking their
	// signature again: a caller sends the same token with every request.
	// 0 turns the cache off.
	VerifiedCacheSize int           `env:"OAUTH_VERIFIED_CACHE_SIZE, default=10000"`
	VerifiedCacheTTL  time.Duration `env:"OAUTH_VERIFIED_CACHE_TTL, default=1m"`
	// KeysMinRefresh is the shortest time between two fetches of the
	// issuer's signing keys: a token signed with an unknown key fetches
	// them (a rotation), a flood of forged tokens no more than this often.
	KeysMinRefresh time.Duration `env:"OAUTH_KEYS_MIN_REFRESH, default=10s"`
}

// cacheLookups counts the remembered-token look-ups: a low hit rate means
// each request pays a signature check.
var cacheLookups, _ = otel.Meter("co2-calculator/authn").Int64Counter("authn.token_cache.lookups",
	metric.WithDescription("Look-ups of recently verified tokens, by result (hit, miss)"), metric.WithUnit("{lookup}"))

var (
	cacheHit  = metric.WithAttributes(attribute.String("result", "hit"))
	cacheMiss = metric.WithAttributes(attribute.String("result", "miss"))
)

// Principal is the authenticated caller.
type Principal struct {
	Subject       string
	Email         string
	EmailVerified bool
	// Roles are the global roles: admin, auditor, service:<name>.
	Roles []string
}

// HasRole reports whether the principal holds a global role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// IsService reports whether the principal is one of the services named.
func (p Principal) IsService(names ...string) bool {
	for _, name := range names {
		if p.HasRole(ServiceRole(name)) {
			return true
		}
	}
	return false
}

// ErrUnauthenticated wraps every reason a token is refused.
var ErrUnauthenticated = errors.New("unauthenticated")

// Verifier checks bearer tokens.
type Verifier struct {
	cfg      Config
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
	// verified holds the principals of recently verified tokens, by the
	// token's SHA-256 (a cache that keeps nothing when off).
	verified *cache.Cache[[sha256.Size]byte, verifiedToken]
}

// verifiedToken is a verified token's principal and expiry.
type verifiedToken struct {
	principal Principal
	expiry    time.Time
}

// NewVerifier discovers the issuer, retrying until DiscoveryTimeout so
// services may start before it.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.IssuerURL == "" || cfg.Audience == "" {
		return nil, errors.New("OAUTH_ISSUER_URL and OAUTH_AUDIENCE are required")
	}
	deadline := time.Now().Add(cfg.DiscoveryTimeout)
	keysCtx := context.WithoutCancel(ctx)
	for {
		provider, err := oidc.NewProvider(keysCtx, cfg.IssuerURL)
		var endpoints struct {
			Issuer  string `json:"issuer"`
			JWKSURL string `json:"jwks_uri"`
		}
		if err == nil {
			err = provider.Claims(&endpoints)
		}
		if err == nil && endpoints.JWKSURL == "" {
			err = errors.New("the discovery document names no jwks_uri")
		}
		if err == nil {
			return &Verifier{
				cfg:      cfg,
				verified: cache.New[[sha256.Size]byte, verifiedToken](cfg.VerifiedCacheSize, cfg.VerifiedCacheTTL),
				verifier: oidc.NewVerifier(endpoints.Issuer, newKeySet(endpoints.JWKSURL, cfg.KeysMinRefresh), &oidc.Config{
					ClientID:             cfg.Audience,
					SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
					// Expiry and not-before are checked below with the
					// configured skew (the library allows none on expiry and
					// five minutes on not-before).
					SkipExpiryCheck: true,
				}),
				now: time.Now,
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("OIDC discovery at %s (OAUTH_ISSUER_URL): %w", cfg.IssuerURL, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// tokenClaims are the claims read besides those the library checks.
type tokenClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Expiry        *int64 `json:"exp"`
	NotBefore     *int64 `json:"nbf"`
}

// Verified returns the principal of a token verified recently and not
// expired since, without checking it again; false for any other token.
func (v *Verifier) Verified(rawToken string) (Principal, bool) {
	if rawToken == "" {
		return Principal{}, false
	}
	known, ok := v.verified.Peek(sha256.Sum256([]byte(rawToken)))
	if !ok || v.now().Add(-v.cfg.ClockSkew).After(known.expiry) {
		cacheLookups.Add(context.Background(), 1, cacheMiss)
		return Principal{}, false
	}
	cacheLookups.Add(context.Background(), 1, cacheHit)
	principal := known.principal
	principal.Roles = slices.Clone(principal.Roles) // the cached one stays as it was
	return principal, true
}

// Verify checks a raw bearer token and returns its principal. Every failure
// wraps ErrUnauthenticated and says why.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Principal, error) {
	if principal, ok := v.Verified(rawToken); ok {
		return principal, nil
	}
	principal, expiry, err := v.verify(ctx, rawToken)
	if err != nil {
		return Principal{}, err
	}
	v.verified.Add(sha256.Sum256([]byte(rawToken)), verifiedToken{principal: principal, expiry: expiry})
	return principal, nil
}

// verify checks a token's signature and claims.
func (v *Verifier) verify(ctx context.Context, rawToken string) (Principal, time.Time, error) {
	token, err := v.verifier.Verify(ctx, rawToken)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %s", ErrUnauthenticated, strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var claims tokenClaims
	var all map[string]json.RawMessage
	if err := token.Claims(&claims); err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: claims: %w", ErrUnauthenticated, err)
	}
	if err := token.Claims(&all); err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: claims: %w", ErrUnauthenticated, err)
	}
	now := v.now()
	switch {
	case claims.Expiry == nil:
		return Principal{}, time.Time{}, fmt.Errorf("%w: the token has no expiry", ErrUnauthenticated)
	case now.Add(-v.cfg.ClockSkew).After(time.Unix(*claims.Expiry, 0)):
		return Principal{}, time.Time{}, fmt.Errorf("%w: the token expired at %s", ErrUnauthenticated, time.Unix(*claims.Expiry, 0).UTC().Format(time.RFC3339))
	case claims.NotBefore != nil && now.Add(v.cfg.ClockSkew).Before(time.Unix(*claims.NotBefore, 0)):
		return Principal{}, time.Time{}, fmt.Errorf("%w: the token is not valid before %s", ErrUnauthenticated, time.Unix(*claims.NotBefore, 0).UTC().Format(time.RFC3339))
	}

	principal := Principal{
		Subject: token.Subject,
		Email:   strings.ToLower(claims.Email),
		// Only an issuer's explicit word makes an email verified: some
		// providers (Entra ID) omit the claim and let users set the email.
		EmailVerified: claims.EmailVerified != nil && *claims.EmailVerified,
	}
	for _, role := range rolesIn(all[v.cfg.RolesClaim]) {
		if role == RoleAdmin || role == RoleAuditor || role == RoleValidator || isServiceRole(role) {
			principal.Roles = append(principal.Roles, role)
		}
	}
	if slices.Contains(v.cfg.AdminSubjects, principal.Subject) ||
		(principal.Email != "" && principal.EmailVerified && containsFold(v.cfg.AdminEmails, principal.Email)) {
		principal.Roles = append(principal.Roles, RoleAdmin)
	}
	slices.Sort(principal.Roles)
	principal.Roles = slices.Compact(principal.Roles)
	return principal, time.Unix(*claims.Expiry, 0), nil
}

// rolesIn reads a roles claim that is a list of strings or one string.
func rolesIn(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return strings.Fields(one)
	}
	return nil
}

func containsFold(list []string, value string) bool {
	return slices.ContainsFunc(list, func(item string) bool { return strings.EqualFold(strings.TrimSpace(item), value) })
}

// BearerToken returns the token of an Authorization header, or "".
func BearerToken(header string) string {
	scheme, token, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying principal.
func WithPrincipal(ctx context.Context, principal Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// FromContext returns the caller of the request ctx belongs to.
func FromContext(ctx context.Context) (Principal, bool) {
	principal, ok := ctx.Value(principalKey{}).(Principal)
	return principal, ok
}
