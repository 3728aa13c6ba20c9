package authz

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// RequireService refuses every caller but the services named: an internal
// call is allowed to the services that make it (their identities carry the
// role service:<name>), and to nobody else, people with global roles
// included. It needs no lab roles, so it holds when labs is away.
func RequireService(ctx context.Context, services ...string) error {
	principal, ok := authn.FromContext(ctx)
	if !ok {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("no authenticated caller"))
	}
	if principal.IsService(services...) {
		return nil
	}
	return apperr.PermissionDenied("this internal call is made by the %s service only", strings.Join(services, " or "))
}
