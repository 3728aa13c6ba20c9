package labsbus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsdb"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// adminCtx is a request by an admin, who may do anything: the tests of the
// rules themselves run as one.
var adminCtx = as(authn.Principal{Subject: "admin-1", Roles: []string{authn.RoleAdmin}})

func as(principal authn.Principal) context.Context {
	return authn.WithPrincipal(context.Background(), principal)
}

func newRegister(t *testing.T) *labsbus.Business {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations})
	store := labsdb.NewStore(pool)
	return labsbus.New(store, authz.NewAuthorizer(labsbus.GrantSource{Store: store}, authz.Config{}))
}

func mustCreate(t *testing.T, labs *labsbus.Business, fields labsbus.Fields) labsbus.Lab {
	t.Helper()
	lab, err := labs.Create(adminCtx, fields)
	if err != nil {
		t.Fatalf("create %+v: %v", fields, err)
	}
	return lab
}

// wantCode fails unless err is an apperr error with code; it returns the
// fields it names.
func wantCode(t *testing.T, err error, code connect.Code) []string {
	t.Helper()
	var appErr *apperr.Error
	if !errors.As(err, &appErr) || appErr.Code != code {
		t.Fatalf("want %v, got %v", code, err)
	}
	var fields []string
	for _, violation := range appErr.Violations {
		fields = append(fields, violation.Field)
	}
	return fields
}

func TestCreateStoresANormalisedLab(t *testing.T) {
	labs := newRegister(t)
	lab := mustCreate(t, labs, labsbus.Fields{Code: " ENAC-LAB1 ", Name: " Lab 1 ", Description: "Water", Country: "ch"})
	if lab.Code != "ENAC-LAB1" || lab.Name != "Lab 1" || lab.Country != "CH" || lab.ParentID != nil || lab.ArchivedAt != nil {
		t.Fatalf("created %+v", lab)
	}
	got, err := labs.Get(adminCtx, lab.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != lab.ID || got.Description != "Water" || got.CreatedAt.IsZero() || !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("read back %+v", got)
	}
}

func TestCreateReportsEveryInvalidField(t *testing.T) {
	labs := newRegister(t)
	cases := []struct {
		fields labsbus.Fields
		want   []string
	}{
		{labsbus.Fields{}, []string{"code", "name", "country"}},
		{labsbus.Fields{Code: "has space", Name: "x", Country: "CH"}, []string{"code"}},
		{labsbus.Fields{Code: strings.Repeat("a", 65), Name: "x", Country: "CH"}, []string{"code"}},
		{labsbus.Fields{Code: "A", Name: strings.Repeat("n", 201), Country: "CH"}, []string{"name"}},
		{labsbus.Fields{Code: "A", Name: "x", Description: strings.Repeat("d", 2001), Country: "CH"}, []string{"description"}},
		{labsbus.Fields{Code: "A", Name: "x", Country: "XX"}, []string{"country"}},
		{labsbus.Fields{Code: "A", Name: "x", Country: "UK"}, []string{"country"}}, // GB is the code
		{labsbus.Fields{Code: "A", Name: "x", Country: "CHE"}, []string{"country"}},
		{labsbus.Fields{Code: "A", Name: "x", Country: "CH", ParentID: "not-a-uuid"}, []string{"parent_id"}},
		{labsbus.Fields{Code: "A", Name: "x", Country: "CH", ParentID: "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11"}, []string{"parent_id"}},
	}
	for _, tc := range cases {
		_, err := labs.Create(adminCtx, tc.fields)
		if got := wantCode(t, err, connect.CodeInvalidArgument); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: violations on %v, want %v (%v)", tc.fields, got, tc.want, err)
		}
	}
	page, err := labs.List(adminCtx, labsbus.ListQuery{IncludeArchived: true})
	if err != nil || len(page.Labs) != 0 {
		t.Fatalf("nothing should be stored: %v %v", page.Labs, err)
	}
}

func TestCodesAreUniqueWhateverTheirCase(t *testing.T) {
	labs := newRegister(t)
	mustCreate(t, labs, labsbus.Fields{Code: "ENAC-LAB1", Name: "Lab 1", Country: "CH"})
	_, err := labs.Create(adminCtx, labsbus.Fields{Code: "enac-lab1", Name: "Other", Country: "FR"})
	wantCode(t, err, connect.CodeAlreadyExists)

	other := mustCreate(t, labs, labsbus.Fields{Code: "ENAC-LAB2", Name: "Lab 2", Country: "CH"})
	_, err = labs.Update(adminCtx, other.ID.String(), labsbus.Fields{Code: "Enac-Lab1"}, []string{"code"})
	wantCode(t, err, connect.CodeAlreadyExists)
}

func TestUnknownAndMalformedIDs(t *testing.T) {
	labs := newRegister(t)
	_, err := labs.Get(adminCtx, "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11")
	wantCode(t, err, connect.CodeNotFound)
	_, err = labs.Get(adminCtx, "42")
	if fields := wantCode(t, err, connect.CodeInvalidArgument); fmt.Sprint(fields) != "[id]" {
		t.Fatalf("violations on %v", fields)
	}
	_, err = labs.Delete(adminCtx, "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11", false)
	wantCode(t, err, connect.CodeNotFound)
	_, err = labs.Replace(adminCtx, "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11", labsbus.Fields{Code: "A", Name: "x", Country: "CH"})
	wantCode(t, err, connect.CodeNotFound)
}

func TestReplaceClearsWhatIsLeftOutAndUpdateChangesOnlyTheMask(t *testing.T) {
	ctx := adminCtx
	labs := newRegister(t)
	parent := mustCreate(t, labs, labsbus.Fields{Code: "ENAC", Name: "School", Country: "CH"})
	lab := mustCreate(t, labs, labsbus.Fields{Code: "LAB", Name: "Lab", Description: "old", ParentID: parent.ID.String(), Country: "CH"})

	replaced, err := labs.Replace(ctx, lab.ID.String(), labsbus.Fields{Code: "LAB", Name: "Lab renamed", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Description != "" || replaced.ParentID != nil || replaced.Country != "FR" || !replaced.UpdatedAt.After(lab.UpdatedAt) {
		t.Fatalf("replace kept what it should clear: %+v", replaced)
	}

	updated, err := labs.Update(ctx, lab.ID.String(), labsbus.Fields{Name: "ignored", Description: "new", ParentID: parent.ID.String()}, []string{"description", "parent_id"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "Lab renamed" || updated.Description != "new" || updated.ParentID == nil || *updated.ParentID != parent.ID {
		t.Fatalf("update with a mask: %+v", updated)
	}

	// Without a mask, the non-empty fields change.
	updated, err = labs.Update(ctx, lab.ID.String(), labsbus.Fields{Country: "de"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Country != "DE" || updated.Description != "new" || updated.ParentID == nil {
		t.Fatalf("update without a mask: %+v", updated)
	}

	// Naming a field with an empty value clears it.
	updated, err = labs.Update(ctx, lab.ID.String(), labsbus.Fields{}, []string{"description"})
	if err != nil || updated.Description != "" {
		t.Fatalf("clearing by mask: %+v %v", updated, err)
	}

	_, err = labs.Update(ctx, lab.ID.String(), labsbus.Fields{}, nil)
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = labs.Update(ctx, lab.ID.String(), labsbus.Fields{}, []string{"id"})
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = labs.Update(ctx, lab.ID.String(), labsbus.Fields{}, []string{"name"})
	if fields := wantCode(t, err, connect.CodeInvalidArgument); fmt.Sprint(fields) != "[name]" {
		t.Fatalf("clearing a required field: violations on %v", fields)
	}
}

func TestTheHierarchyHasNoCycles(t *testing.T) {
	ctx := adminCtx
	labs := newRegister(t)
	school := mustCreate(t, labs, labsbus.Fields{Code: "SCHOOL", Name: "School", Country: "CH"})
	institute := mustCreate(t, labs, labsbus.Fields{Code: "INST", Name: "Institute", ParentID: school.ID.String(), Country: "CH"})
	lab := mustCreate(t, labs, labsbus.Fields{Code: "LAB", Name: "Lab", ParentID: institute.ID.String(), Country: "CH"})

	for _, move := range []struct {
		lab, parent labsbus.Lab
	}{{school, lab}, {school, institute}, {institute, institute}, {school, school}} {
		_, err := labs.Update(ctx, move.lab.ID.String(), labsbus.Fields{ParentID: move.parent.ID.String()}, []string{"parent_id"})
		if fields := wantCode(t, err, connect.CodeInvalidArgument); fmt.Sprint(fields) != "[parent_id]" {
			t.Fatalf("moving %s under %s: violations on %v", move.lab.Code, move.parent.Code, fields)
		}
	}
	// Moving a lab elsewhere in the tree is fine.
	if _, err := labs.Update(ctx, lab.ID.String(), labsbus.Fields{ParentID: school.ID.String()}, []string{"parent_id"}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentMovesCannotMakeACycle(t *testing.T) {
	ctx := adminCtx
	labs := newRegister(t)
	a := mustCreate(t, labs, labsbus.Fields{Code: "A", Name: "A", Country: "CH"})
	b := mustCreate(t, labs, labsbus.Fields{Code: "B", Name: "B", Country: "CH"})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, move := range [][2]labsbus.Lab{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = labs.Update(ctx, move[0].ID.String(), labsbus.Fields{ParentID: move[1].ID.String()}, []string{"parent_id"})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("exactly one move should win: %v / %v", errs[0], errs[1])
	}
}

func TestArchivingAndPurging(t *testing.T) {
	ctx := adminCtx
	labs := newRegister(t)
	parent := mustCreate(t, labs, labsbus.Fields{Code: "P", Name: "Parent", Country: "CH"})
	child := mustCreate(t, labs, labsbus.Fields{Code: "C", Name: "Child", ParentID: parent.ID.String(), Country: "CH"})

	_, err := labs.Delete(ctx, parent.ID.String(), false)
	wantCode(t, err, connect.CodeFailedPrecondition)

	archived, err := labs.Delete(ctx, child.ID.String(), false)
	if err != nil || archived.ArchivedAt == nil {
		t.Fatalf("archive the child: %+v %v", archived, err)
	}
	_, err = labs.Update(ctx, child.ID.String(), labsbus.Fields{Name: "x"}, nil)
	wantCode(t, err, connect.CodeFailedPrecondition)

	// Archived sub-labs no longer block archiving, but still block purging.
	_, err = labs.Delete(ctx, parent.ID.String(), true)
	wantCode(t, err, connect.CodeFailedPrecondition)
	if _, err := labs.Delete(ctx, parent.ID.String(), false); err != nil {
		t.Fatal(err)
	}

	// A sub-lab cannot come back while its parent is archived.
	_, err = labs.Unarchive(ctx, child.ID.String())
	wantCode(t, err, connect.CodeFailedPrecondition)
	if _, err := labs.Unarchive(ctx, parent.ID.String()); err != nil {
		t.Fatal(err)
	}
	back, err := labs.Unarchive(ctx, child.ID.String())
	if err != nil || back.ArchivedAt != nil {
		t.Fatalf("unarchive: %+v %v", back, err)
	}

	// New sub-labs cannot be placed under an archived lab.
	if _, err := labs.Delete(ctx, child.ID.String(), false); err != nil {
		t.Fatal(err)
	}
	_, err = labs.Create(ctx, labsbus.Fields{Code: "C2", Name: "x", ParentID: child.ID.String(), Country: "CH"})
	wantCode(t, err, connect.CodeInvalidArgument)

	if _, err := labs.Delete(ctx, child.ID.String(), true); err != nil {
		t.Fatal(err)
	}
	_, err = labs.Get(ctx, child.ID.String())
	wantCode(t, err, connect.CodeNotFound)
}

func TestListPagesThroughFilteredLabs(t *testing.T) {
	ctx := adminCtx
	labs := newRegister(t)
	school := mustCreate(t, labs, labsbus.Fields{Code: "SCHOOL", Name: "School of water", Country: "CH"})
	for i := range 7 {
		mustCreate(t, labs, labsbus.Fields{Code: fmt.Sprintf("lab-%02d", i), Name: fmt.Sprintf("Water lab %d", i), ParentID: school.ID.String(), Country: "CH"})
	}
	mustCreate(t, labs, labsbus.Fields{Code: "OTHER", Name: "Air 100% lab", Country: "FR"})
	archived := mustCreate(t, labs, labsbus.Fields{Code: "LAB-99", Name: "Water lab archived", ParentID: school.ID.String(), Country: "CH"})
	if _, err := labs.Delete(ctx, archived.ID.String(), false); err != nil {
		t.Fatal(err)
	}

	var codes []string
	query := labsbus.ListQuery{PageSize: 3, ParentID: school.ID.String()}
	for pages := 0; ; pages++ {
		page, err := labs.List(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		for _, lab := range page.Labs {
			codes = append(codes, lab.Code)
		}
		if page.NextPageToken == "" {
			if pages != 2 {
				t.Fatalf("7 labs in pages of 3 should take 3 pages, took %d", pages+1)
			}
			break
		}
		query.PageToken = page.NextPageToken
	}
	if want := "[lab-00 lab-01 lab-02 lab-03 lab-04 lab-05 lab-06]"; fmt.Sprint(codes) != want {
		t.Fatalf("listed %v, want %v", codes, want)
	}

	page, err := labs.List(ctx, labsbus.ListQuery{NameContains: "WATER", IncludeArchived: true})
	if err != nil || len(page.Labs) != 9 {
		t.Fatalf("name contains WATER with archived: %d labs, %v", len(page.Labs), err)
	}
	page, err = labs.List(ctx, labsbus.ListQuery{NameContains: "100%"})
	if err != nil || len(page.Labs) != 1 || page.Labs[0].Code != "OTHER" {
		t.Fatalf("%% is matched literally: %+v %v", page.Labs, err)
	}
	page, err = labs.List(ctx, labsbus.ListQuery{NameContains: "_"})
	if err != nil || len(page.Labs) != 0 {
		t.Fatalf("_ is matched literally: %+v %v", page.Labs, err)
	}

	// A token belongs to its filters.
	first, err := labs.List(ctx, labsbus.ListQuery{PageSize: 2})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page: %v", err)
	}
	_, err = labs.List(ctx, labsbus.ListQuery{PageSize: 2, PageToken: first.NextPageToken, NameContains: "air"})
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = labs.List(ctx, labsbus.ListQuery{PageToken: "garbage"})
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = labs.List(ctx, labsbus.ListQuery{PageSize: -1})
	wantCode(t, err, connect.CodeInvalidArgument)
	page, err = labs.List(ctx, labsbus.ListQuery{PageSize: 100000})
	if err != nil || len(page.Labs) != 9 {
		t.Fatalf("an oversized page is served at the maximum: %d %v", len(page.Labs), err)
	}
}
