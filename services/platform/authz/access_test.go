package authz_test

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

var errNoLab = apperr.NotFound("no lab")

func TestRolesAllowWhatThePolicySays(t *testing.T) {
	const own, sub, foreign = "lab-own", "lab-sub", "lab-foreign"
	callers := map[string]*authz.Access{}
	for name, setup := range map[string]struct {
		roles  []string
		grants []authz.Grant
	}{
		"admin":    {roles: []string{"admin"}},
		"auditor":  {roles: []string{"auditor"}},
		"manager":  {grants: []authz.Grant{{LabID: own, Role: authz.RoleLabManager}, {LabID: sub, Role: authz.RoleLabManager}}},
		"member":   {grants: []authz.Grant{{LabID: own, Role: authz.RoleLabMember}, {LabID: sub, Role: authz.RoleLabMember}}},
		"outsider": {},
		// A validator of one lab, and one by a global role.
		"validator":        {grants: []authz.Grant{{LabID: own, Role: authz.RoleValidator}}},
		"global validator": {roles: []string{authz.RoleValidator}},
		"service":          {roles: []string{authn.ServiceRole("calc")}},
		"forged":           {grants: []authz.Grant{{LabID: own, Role: "admin"}, {LabID: "*", Role: authz.RoleLabManager}}},
	} {
		access, err := authz.NewAccess(authn.Principal{Subject: name, Roles: setup.roles}, setup.grants)
		if err != nil {
			t.Fatal(err)
		}
		callers[name] = access
	}

	// caller, lab, the actions allowed there (all others refused).
	table := []struct {
		caller, lab string
		allowed     []authz.Action
	}{
		{"admin", foreign, []authz.Action{authz.View, authz.Edit, authz.Import, authz.Export, authz.ManageMembers, authz.Administer, authz.Validate, authz.CloseYear}},
		{"auditor", foreign, []authz.Action{authz.View, authz.Export}},
		{"manager", own, []authz.Action{authz.View, authz.Edit, authz.Import, authz.Export, authz.ManageMembers, authz.Validate, authz.CloseYear}},
		{"manager", sub, []authz.Action{authz.View, authz.Edit, authz.Import, authz.Export, authz.ManageMembers, authz.Validate, authz.CloseYear}},
		{"validator", own, []authz.Action{authz.View, authz.Validate}},
		{"validator", foreign, nil},
		{"global validator", foreign, []authz.Action{authz.View, authz.Validate}},
		{"manager", foreign, nil},
		{"member", own, []authz.Action{authz.View, authz.Import}},
		{"member", foreign, nil},
		{"outsider", own, nil},
		{"service", own, nil}, // a service's role reaches internal calls only
		// A lab role cannot be bent into a global one.
		{"forged", own, nil},
		{"forged", foreign, nil},
	}
	every := []authz.Action{authz.View, authz.Edit, authz.Import, authz.Export, authz.ManageMembers, authz.Administer, authz.Validate, authz.CloseYear}
	for _, row := range table {
		for _, action := range every {
			want := false
			for _, allowed := range row.allowed {
				want = want || allowed == action
			}
			if got := callers[row.caller].Can(row.lab, action); got != want {
				t.Errorf("%s %s on %s: %v, want %v", row.caller, action, row.lab, got, want)
			}
		}
	}

	// Require: invisible labs are "not found", visible ones "denied".
	if err := callers["member"].Require(foreign, authz.Edit, errNoLab); !errors.Is(err, errNoLab) {
		t.Errorf("member editing a foreign lab: %v", err)
	}
	var appErr *apperr.Error
	if err := callers["member"].Require(own, authz.Edit, errNoLab); !errors.As(err, &appErr) || appErr.Code != connect.CodePermissionDenied {
		t.Errorf("member editing its lab: %v", err)
	}
	if err := callers["auditor"].Require(foreign, authz.Export, errNoLab); err != nil {
		t.Errorf("auditor exporting: %v", err)
	}

	// List filters.
	if all, _ := callers["auditor"].LabsWith(authz.View); !all {
		t.Error("an auditor views every lab")
	}
	if all, labs := callers["member"].LabsWith(authz.View); all || len(labs) != 2 {
		t.Errorf("member views %v (all=%v)", labs, all)
	}
	if all, labs := callers["member"].LabsWith(authz.ManageMembers); all || len(labs) != 0 {
		t.Errorf("member manages %v (all=%v)", labs, all)
	}
	if all, labs := callers["outsider"].LabsWith(authz.View); all || len(labs) != 0 {
		t.Errorf("outsider views %v (all=%v)", labs, all)
	}
}

// An internal call is allowed to the services that make it, and to nobody
// else: not another service, not an admin.
func TestInternalCallsTakeTheIdentityOfTheServicesThatMakeThem(t *testing.T) {
	for _, row := range []struct {
		roles   []string
		allowed bool
	}{
		{[]string{authn.ServiceRole("calc")}, true},
		{[]string{authn.ServiceRole("reporting")}, false},
		{[]string{"service"}, false}, // the one role every service shared once
		{[]string{authn.RoleAdmin}, false},
		{nil, false},
	} {
		ctx := authn.WithPrincipal(context.Background(), authn.Principal{Subject: "caller", Roles: row.roles})
		err := authz.RequireService(ctx, "calc")
		var appErr *apperr.Error
		switch {
		case row.allowed && err != nil:
			t.Errorf("roles %v: %v, want allowed", row.roles, err)
		case !row.allowed && (!errors.As(err, &appErr) || appErr.Code != connect.CodePermissionDenied):
			t.Errorf("roles %v: %v, want PermissionDenied", row.roles, err)
		}
	}
}
