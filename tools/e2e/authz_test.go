package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
)

// world is a fresh set of labs for one authorization check: the dev manager
// and member hold their roles on own (and so on sub, its sub-lab); foreign
// is nobody's. temp@example.com is a member of all three, to be removed.
type world struct{ own, sub, foreign string }

var worlds atomic.Int64

func newWorld(t *testing.T, api string) world {
	t.Helper()
	n := worlds.Add(1)
	create := func(code, parent string) string {
		body := fmt.Sprintf(`{"code":"%s-%d","name":"%s lab","country":"CH","parentId":"%s"}`, code, n, code, parent)
		return mustCall(t, 200, "POST", api+"/labs", body)["id"].(string)
	}
	w := world{own: create("OWN", "")}
	w.sub = create("SUB", w.own)
	w.foreign = create("FOREIGN", "")
	mustCall(t, 200, "POST", api+"/labs/"+w.own+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	mustCall(t, 200, "POST", api+"/labs/"+w.own+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	for _, lab := range []string{w.own, w.sub, w.foreign} {
		mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"temp@example.com","role":"lab_member"}`)
	}
	return w
}

// expect is the status each target answers: own lab, sub-lab, foreign lab.
type expect [3]int

var users = []string{"admin", "auditor", "manager", "member", "outsider"}

// endpoint is one /api/v1 operation of the matrix, aimed at a lab.
type endpoint struct {
	name     string
	method   string
	path     func(lab string) string
	body     func(w world, lab string) string
	mutating bool // needs a fresh world per call
	want     map[string]expect
}

func noBody(world, string) string { return "" }

// The authorization matrix: every /api/v1 endpoint × every kind of caller ×
// {own lab, sub-lab, foreign lab}, with the exact status. A new endpoint
// joins by adding a row.
var matrix = []endpoint{
	{
		name: "get lab", method: "GET", path: func(lab string) string { return "/labs/" + lab }, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "list labs", method: "GET", path: func(lab string) string { return "/labs?parent_id=" + lab }, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 200}, "member": {200, 200, 200}, "outsider": {200, 200, 200}},
	},
	{
		name: "create sub-lab", method: "POST", path: func(string) string { return "/labs" }, mutating: true,
		body: func(_ world, lab string) string {
			return fmt.Sprintf(`{"code":"NEW-%d","name":"New","country":"CH","parentId":"%s"}`, worlds.Add(1), lab)
		},
		// A parent the caller cannot see is reported like one that does not exist.
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 400}, "member": {403, 403, 400}, "outsider": {400, 400, 400}},
	},
	{
		name: "replace lab", method: "PUT", path: func(lab string) string { return "/labs/" + lab }, mutating: true,
		body: func(w world, lab string) string {
			parent := ""
			if lab == w.sub {
				parent = w.own
			}
			return fmt.Sprintf(`{"code":"PUT-%d","name":"Replaced","country":"FR","parentId":"%s"}`, worlds.Add(1), parent)
		},
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "update lab", method: "PATCH", path: func(lab string) string { return "/labs/" + lab }, mutating: true,
		body: func(world, string) string { return `{"description":"Changed"}` },
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "archive lab", method: "DELETE", path: func(lab string) string { return "/labs/" + lab }, mutating: true, body: noBody,
		// The admin may, but the own lab still has a live sub-lab (400).
		want: map[string]expect{"admin": {400, 200, 200}, "auditor": {403, 403, 403}, "manager": {403, 403, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "unarchive lab", method: "POST", path: func(lab string) string { return "/labs/" + lab + ":unarchive" }, mutating: true, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {403, 403, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "list members", method: "GET", path: func(lab string) string { return "/labs/" + lab + "/members" }, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "add member", method: "POST", path: func(lab string) string { return "/labs/" + lab + "/members" }, mutating: true,
		body: func(world, string) string { return `{"email":"newcomer@example.com","role":"lab_member"}` },
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "remove member", method: "DELETE", path: func(lab string) string { return "/labs/" + lab + "/members/" + url.PathEscape("temp@example.com") }, mutating: true, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "me", method: "GET", path: func(string) string { return "/me" }, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 200}, "member": {200, 200, 200}, "outsider": {200, 200, 200}},
	},
}

func TestAuthorizationMatrix(t *testing.T) {
	api := startSystem(t, "RATE_LIMIT_READ=100000/1m", "RATE_LIMIT_WRITE=100000/1m").Gateway + "/api/v1"
	shared := newWorld(t, api)
	cells := 0
	for _, row := range matrix {
		for _, user := range users {
			for target := range 3 {
				w := shared
				if row.mutating {
					w = newWorld(t, api)
				}
				lab := []string{w.own, w.sub, w.foreign}[target]
				status, answer := call(t, user, row.method, api+row.path(lab), row.body(w, lab))
				if want := row.want[user][target]; status != want {
					t.Errorf("%s as %s on the %s lab: %d, want %d (%v)", row.name, user, []string{"own", "sub", "foreign"}[target], status, want, answer["message"])
				}
				cells++
			}
		}
	}
	t.Logf("%d endpoints × %d callers × 3 labs = %d cells", len(matrix), len(users), cells)
}

func TestListsShowOnlyTheCallersLabs(t *testing.T) {
	api := startSystem(t).Gateway + "/api/v1"
	w := newWorld(t, api)
	visible := func(user string) []string {
		_, answer := call(t, user, "GET", api+"/labs?page_size=500", "")
		var ids []string
		labs, _ := answer["labs"].([]any)
		for _, lab := range labs {
			ids = append(ids, lab.(map[string]any)["id"].(string))
		}
		return ids
	}
	for user, want := range map[string][]string{
		"admin": {w.own, w.sub, w.foreign}, "auditor": {w.own, w.sub, w.foreign},
		"manager": {w.own, w.sub}, "member": {w.own, w.sub}, "outsider": nil,
	} {
		got := visible(user)
		for _, id := range []string{w.own, w.sub, w.foreign} {
			if slices.Contains(got, id) != slices.Contains(want, id) {
				t.Errorf("%s sees %v; want exactly %v of this world", user, got, want)
				break
			}
		}
	}
	// /me tells the member where their role comes from.
	_, me := call(t, "member", "GET", api+"/me", "")
	labs, _ := me["labs"].([]any)
	if me["email"] != "member@example.com" || len(labs) != 2 {
		t.Fatalf("me: %v", me)
	}
	for _, lab := range labs {
		if lab.(map[string]any)["grantedOnLabId"] != w.own || lab.(map[string]any)["role"] != "lab_member" {
			t.Fatalf("me: %v", me)
		}
	}
}
