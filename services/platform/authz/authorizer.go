package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// GrantSource resolves the lab roles of a caller: the labs service reads its
// own tables; other services ask labs over Connect.
type GrantSource interface {
	Grants(ctx context.Context, principal authn.Principal) ([]Grant, error)
}

// Authorizer gives the business layer the Access of the caller of a request,
// caching each caller's for TTL. The TTL is how long a revoked membership
// may still be honoured by this process.
type Authorizer struct {
	source GrantSource
	ttl    time.Duration

	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	access  *Access
	expires time.Time
}

// Config is the authorization part of a service's configuration.
type Config struct {
	// GrantsCacheTTL is how long a caller's lab roles are reused before
	// they are asked again.
	GrantsCacheTTL time.Duration `env:"AUTHZ_CACHE_TTL, default=30s"`
}

// NewAuthorizer returns an authorizer over source; ttl 0 asks every time.
func NewAuthorizer(source GrantSource, ttl time.Duration) *Authorizer {
	return &Authorizer{source: source, ttl: ttl, entries: map[string]cached{}}
}

// For returns the access of the caller of ctx's request.
func (a *Authorizer) For(ctx context.Context) (*Access, error) {
	principal, ok := authn.FromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no authenticated caller"))
	}
	key := principal.Subject + "\x00" + principal.Email + fmt.Sprint(principal.Roles)
	now := time.Now()
	if a.ttl > 0 {
		a.mu.Lock()
		entry, found := a.entries[key]
		a.mu.Unlock()
		if found && now.Before(entry.expires) {
			return entry.access, nil
		}
	}
	grants, err := a.source.Grants(ctx, principal)
	if err != nil {
		return nil, fmt.Errorf("resolve lab roles of %s: %w", principal.Subject, err)
	}
	access, err := NewAccess(principal, grants)
	if err != nil {
		return nil, err
	}
	if a.ttl > 0 {
		a.mu.Lock()
		a.entries[key] = cached{access: access, expires: now.Add(a.ttl)}
		if len(a.entries) > 10000 {
			for k, entry := range a.entries {
				if now.After(entry.expires) {
					delete(a.entries, k)
				}
			}
		}
		a.mu.Unlock()
	}
	return access, nil
}
