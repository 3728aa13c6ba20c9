package labsbus_test

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

func TestMembershipsGrantAccessDownTheTree(t *testing.T) {
	labs := newRegister(t)
	school := mustCreate(t, labs, labsbus.Fields{Code: "SCHOOL", Name: "School", Country: "CH"})
	lab := mustCreate(t, labs, labsbus.Fields{Code: "LAB", Name: "Lab", ParentID: school.ID.String(), Country: "CH"})
	team := mustCreate(t, labs, labsbus.Fields{Code: "TEAM", Name: "Team", ParentID: lab.ID.String(), Country: "CH"})
	other := mustCreate(t, labs, labsbus.Fields{Code: "OTHER", Name: "Other", Country: "FR"})

	if _, err := labs.AddMember(adminCtx, lab.ID.String(), labsbus.Member{Subject: "manager-1", Role: "lab_manager"}); err != nil {
		t.Fatal(err)
	}
	// Named by email before they ever signed in.
	if _, err := labs.AddMember(adminCtx, lab.ID.String(), labsbus.Member{Email: "Member@Example.com", Role: "lab_member"}); err != nil {
		t.Fatal(err)
	}
	manager := as(authn.Principal{Subject: "manager-1"})
	member := as(authn.Principal{Subject: "member-sub", Email: "member@example.com", EmailVerified: true})
	unverified := as(authn.Principal{Subject: "someone", Email: "member@example.com", EmailVerified: false})

	for name, ctx := range map[string]context.Context{"manager": manager, "member": member} {
		page, err := labs.List(ctx, labsbus.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, l := range page.Labs {
			codes = append(codes, l.Code)
		}
		if !slices.Equal(codes, []string{"LAB", "TEAM"}) {
			t.Errorf("%s sees %v, want its lab and the sub-lab below", name, codes)
		}
		if _, err := labs.Get(ctx, school.ID.String()); connect.CodeOf(toConnect(err)) != connect.CodeNotFound {
			t.Errorf("%s reading the parent: %v", name, err)
		}
		if _, err := labs.Get(ctx, other.ID.String()); connect.CodeOf(toConnect(err)) != connect.CodeNotFound {
			t.Errorf("%s reading a foreign lab: %v", name, err)
		}
	}
	if page, err := labs.List(unverified, labsbus.ListQuery{}); err != nil || len(page.Labs) != 0 {
		t.Fatalf("an unverified email matches no membership: %v %v", page.Labs, err)
	}

	// The manager edits the sub-lab and creates under it; the member cannot.
	if _, err := labs.Update(manager, team.ID.String(), labsbus.Fields{Name: "Team renamed"}, nil); err != nil {
		t.Fatalf("manager edits the sub-lab: %v", err)
	}
	if _, err := labs.Create(manager, labsbus.Fields{Code: "TEAM-2", Name: "Team 2", ParentID: lab.ID.String(), Country: "CH"}); err != nil {
		t.Fatalf("manager creates a sub-lab: %v", err)
	}
	if _, err := labs.Update(member, team.ID.String(), labsbus.Fields{Name: "x"}, nil); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("member edits: %v", err)
	}
	// Moving the lab to the top, or under a lab they cannot see, is refused.
	if _, err := labs.Update(manager, team.ID.String(), labsbus.Fields{}, []string{"parent_id"}); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("manager moves to the top: %v", err)
	}
	if _, err := labs.Update(manager, team.ID.String(), labsbus.Fields{ParentID: other.ID.String()}, []string{"parent_id"}); connect.CodeOf(toConnect(err)) != connect.CodeInvalidArgument {
		t.Fatalf("manager moves under a foreign lab: %v", err)
	}
	// A manager of the sub-lab alone cannot take it away from its parent.
	if _, err := labs.AddMember(adminCtx, team.ID.String(), labsbus.Member{Subject: "team-manager", Role: "lab_manager"}); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.AddMember(adminCtx, other.ID.String(), labsbus.Member{Subject: "team-manager", Role: "lab_manager"}); err != nil {
		t.Fatal(err)
	}
	teamManager := as(authn.Principal{Subject: "team-manager"})
	if _, err := labs.Update(teamManager, team.ID.String(), labsbus.Fields{ParentID: other.ID.String()}, []string{"parent_id"}); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("sub-lab manager moves it out of its parent: %v", err)
	}
	// Archiving takes an admin.
	if _, err := labs.Delete(manager, team.ID.String(), false); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("manager archives: %v", err)
	}

	// The manager manages members below; the member does not.
	if _, err := labs.AddMember(manager, team.ID.String(), labsbus.Member{Subject: "newcomer", Role: "lab_member"}); err != nil {
		t.Fatalf("manager adds a member: %v", err)
	}
	if _, err := labs.AddMember(member, lab.ID.String(), labsbus.Member{Subject: "friend", Role: "lab_manager"}); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("member adds a manager: %v", err)
	}

	// Me lists the inherited roles with where they come from.
	me, err := labs.Me(member)
	if err != nil {
		t.Fatal(err)
	}
	if len(me.Grants) != 3 || me.Grants[0].LabCode != "LAB" || me.Grants[1].LabCode != "TEAM" || me.Grants[2].LabCode != "TEAM-2" || me.Grants[1].GrantedOn != lab.ID {
		t.Fatalf("me: %+v", me.Grants)
	}

	// Revoking takes effect at once.
	if err := labs.RemoveMember(adminCtx, lab.ID.String(), "MEMBER@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.Get(member, lab.ID.String()); connect.CodeOf(toConnect(err)) != connect.CodeNotFound {
		t.Fatalf("after removal: %v", err)
	}
	if err := labs.RemoveMember(adminCtx, lab.ID.String(), "nobody"); connect.CodeOf(toConnect(err)) != connect.CodeNotFound {
		t.Fatalf("removing a non-member: %v", err)
	}
}

func TestAddMemberChecksItsInput(t *testing.T) {
	labs := newRegister(t)
	lab := mustCreate(t, labs, labsbus.Fields{Code: "LAB", Name: "Lab", Country: "CH"})
	for _, tc := range []struct {
		member labsbus.Member
		field  string
	}{
		{labsbus.Member{Role: "lab_member"}, "subject"},
		{labsbus.Member{Email: "not an email", Role: "lab_member"}, "email"},
		{labsbus.Member{Subject: "x", Role: "admin"}, "role"},
	} {
		_, err := labs.AddMember(adminCtx, lab.ID.String(), tc.member)
		if fields := wantCode(t, err, connect.CodeInvalidArgument); !slices.Equal(fields, []string{tc.field}) {
			t.Errorf("%+v: violations on %v, want %s", tc.member, fields, tc.field)
		}
	}
	// Adding again changes the role.
	if _, err := labs.AddMember(adminCtx, lab.ID.String(), labsbus.Member{Subject: "x", Role: "lab_member"}); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.AddMember(adminCtx, lab.ID.String(), labsbus.Member{Subject: "x", Role: "lab_manager"}); err != nil {
		t.Fatal(err)
	}
	members, err := labs.ListMembers(adminCtx, lab.ID.String())
	if err != nil || len(members) != 1 || members[0].Role != "lab_manager" || members[0].CreatedBy != "admin-1" {
		t.Fatalf("members %+v %v", members, err)
	}
}

func TestInternalCallsTakeAServiceIdentity(t *testing.T) {
	labs := newRegister(t)
	lab := mustCreate(t, labs, labsbus.Fields{Code: "LAB", Name: "Lab", Country: "CH"})
	service := as(authn.Principal{Subject: "svc-calc", Roles: []string{authn.ServiceRole("calc")}})
	got, err := labs.BatchGet(service, []string{lab.ID.String(), "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11"})
	if err != nil || len(got) != 1 || got[0].Country != "CH" {
		t.Fatalf("service batch get: %+v %v", got, err)
	}
	if _, err := labs.BatchGet(adminCtx, []string{lab.ID.String()}); connect.CodeOf(toConnect(err)) != connect.CodePermissionDenied {
		t.Fatalf("a user calling an internal RPC: %v", err)
	}
	// The service role reaches no lab through the public calls.
	if _, err := labs.Get(service, lab.ID.String()); connect.CodeOf(toConnect(err)) != connect.CodeNotFound {
		t.Fatalf("service reading a lab: %v", err)
	}
}

// toConnect is the error as a client receives it.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	converted, _ := apperr.ToConnect(err)
	return converted
}
