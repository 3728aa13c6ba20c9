package authz

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

// GrantSource resolves the lab roles of a caller: the labs service reads its
// own tables; other services ask labs over Connect.
type GrantSource interface {
	Grants(ctx context.Context, principal authn.Principal) ([]Grant, error)
}

// Authorizer gives the business layer the Access of the caller of a request,
// keeping each caller's for a TTL. The TTL is how long a revoked membership
// may still be honoured by this process.
type Authorizer struct {
	source GrantSource
	cached *cache.Cache[string, *Access]
}

// Config is the authorization part of a service's configuration.
type Config struct {
	// GrantsCacheTTL is how long a caller's lab roles are reused before
	// they are asked again.
	GrantsCacheTTL time.Duration `env:"AUTHZ_CACHE_TTL, default=30s"`
	// GrantsCacheSize is how many callers' roles are kept at most (each
	// holds an authorization model of its own).
	GrantsCacheSize int `env:"AUTHZ_CACHE_SIZE, default=2000"`
}

// NewAuthorizer returns an authorizer over source; a zero TTL or size asks
// every time.
func NewAuthorizer(source GrantSource, cfg Config) *Authorizer {
	return &Authorizer{source: source, cached: cache.New[string, *Access](cfg.GrantsCacheSize, cfg.GrantsCacheTTL)}
}

// For returns the access of the caller of ctx's request.
func (a *Authorizer) For(ctx context.Context) (*Access, error) {
	principal, ok := authn.FromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no authenticated caller"))
	}
	key := principal.Subject + "\x00" + principal.Email + "\x00" + strconv.FormatBool(principal.EmailVerified) + "\x00" + strings.Join(principal.Roles, ",")
	return a.cached.Get(ctx, key, func(ctx context.Context) (*Access, error) {
		grants, err := a.source.Grants(ctx, principal)
		if err != nil {
			return nil, fmt.Errorf("resolve lab roles of %s: %w", principal.Subject, err)
		}
		return NewAccess(principal, grants)
	})
}

// RequireLab parses a lab id from a request and checks the caller may do
// action on the lab. A lab out of the caller's sight is not found, like one
// that does not exist.
func (a *Authorizer) RequireLab(ctx context.Context, labID string, action Action) (uuid.UUID, *Access, error) {
	access, err := a.For(ctx)
	if err != nil {
		return uuid.UUID{}, nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return uuid.UUID{}, nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	return id, access, access.Require(id.String(), action, apperr.NotFound("no lab has id %s", labID))
}
