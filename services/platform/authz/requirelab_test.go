package authz_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// grants holds one caller's lab roles, as labs would answer.
type grants []authz.Grant

func (g grants) Grants(context.Context, authn.Principal) ([]authz.Grant, error) { return g, nil }

// A lab id from a request: malformed is the caller's mistake; a lab out of
// sight is not found, like one that does not exist; a lab in sight without
// the right is refused.
func TestRequireLabAnswersAsTheCallerMayKnow(t *testing.T) {
	own, foreign := uuid.New(), uuid.New()
	authorizer := authz.NewAuthorizer(grants{{LabID: own.String(), Role: authz.RoleLabMember}}, authz.Config{})
	ctx := authn.WithPrincipal(context.Background(), authn.Principal{Subject: "ana"})
	for _, c := range []struct {
		lab    string
		action authz.Action
		want   connect.Code
	}{
		{"not-a-uuid", authz.View, connect.CodeInvalidArgument},
		{foreign.String(), authz.View, connect.CodeNotFound},
		{own.String(), authz.Edit, connect.CodePermissionDenied},
	} {
		_, _, err := authorizer.RequireLab(ctx, c.lab, c.action)
		converted, _ := apperr.ToConnect(err)
		if code := converted.Code(); code != c.want {
			t.Errorf("%s %s: %v (%v), want %v", c.lab, c.action, code, err, c.want)
		}
	}
	id, access, err := authorizer.RequireLab(ctx, own.String(), authz.Import)
	if err != nil || id != own || access.Principal().Subject != "ana" {
		t.Fatalf("a member imports into the lab: %v %v", id, err)
	}
}
