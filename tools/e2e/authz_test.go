package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// world is a fresh set of labs for one authorization check: the dev manager
// and member hold their roles on own (and so on sub, its sub-lab); foreign
// is nobody's. temp@example.com is a member of all three, to be removed;
// foreigner@example.com a member of foreign alone.
type world struct {
	own, sub, foreign string
	t                 *testing.T
	sys               *system
	activities        map[string]string // lab → an activity of it
	imports           map[string]string // lab → a finished import of it
	exports           map[string]string // lab → an export of it
}

var worlds atomic.Int64

func newWorld(t *testing.T, sys *system) *world {
	t.Helper()
	api := sys.Gateway + "/api/v1"
	n := worlds.Add(1)
	create := func(code, parent string) string {
		body := fmt.Sprintf(`{"code":"%s-%d","name":"%s lab","country":"CH","parentId":"%s"}`, code, n, code, parent)
		return mustCall(t, 200, "POST", api+"/labs", body)["id"].(string)
	}
	w := &world{own: create("OWN", ""), t: t, sys: sys, activities: map[string]string{}, imports: map[string]string{}, exports: map[string]string{}}
	w.sub = create("SUB", w.own)
	w.foreign = create("FOREIGN", "")
	mustCall(t, 200, "POST", api+"/labs/"+w.own+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	mustCall(t, 200, "POST", api+"/labs/"+w.own+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+w.foreign+"/members", `{"email":"foreigner@example.com","role":"lab_member"}`)
	for _, lab := range []string{w.own, w.sub, w.foreign} {
		mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"temp@example.com","role":"lab_member"}`)
		w.activities[lab] = mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", entryBody)["id"].(string)
		mustCall(t, 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody)
	}
	return w
}

const contractBody = `{"supplier":"Hydro SA","kgCo2ePerKwh":0.012,"source":"Supplier disclosure 2025"}`

const objectiveBody = `{"baselineYear":2025,"targetYear":2030,"reductionPct":50}`

const entryBody = `{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","category":"it","active_hours_per_week":"40","active_power_w":"60"}}`

// importOf returns a finished import of lab, made on first use.
func (w *world) importOf(lab string) string {
	if id, ok := w.imports[lab]; ok {
		return id
	}
	_, answer := upload(w.t, w.sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+"PC,it,1,40,60,0,0\n", false)
	id := importID(w.t, answer)
	waitFinished(w.t, w.sys, id)
	w.imports[lab] = id
	return id
}

// exportOf returns a finished export of lab, made on first use: its ZIP is
// there to download.
func (w *world) exportOf(lab string) string {
	if id, ok := w.exports[lab]; ok {
		return id
	}
	exports := w.sys.Gateway + "/api/v1/reports/" + lab + "/exports"
	id := mustCall(w.t, 200, "POST", exports, `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		export := mustCall(w.t, 200, "GET", exports+"/"+id, "")["export"].(map[string]any)
		if export["status"] == "done" {
			break
		}
		if export["status"] == "failed" || time.Now().After(deadline) {
			w.t.Fatalf("export of %s: %v", lab, export)
		}
	}
	w.exports[lab] = id
	return id
}

// scenarioBody is a scenario of 2025 under a name of its own.
func scenarioBody() string {
	return fmt.Sprintf(`{"year":2025,"name":"Scenario %d","rules":[{"kind":"equipment","scale":{"active_hours_per_week":0.5}}]}`, worlds.Add(1))
}

// scenarioOf makes a scenario of lab, as the admin.
func (w *world) scenarioOf(lab string) string {
	return mustCall(w.t, 200, "POST", w.sys.Gateway+"/api/v1/labs/"+lab+"/scenarios", scenarioBody())["id"].(string)
}

// memberOf names a subject holding a role on lab itself (not through a
// parent) and on no other lab of the world.
func (w *world) memberOf(lab string) string {
	if lab == w.foreign {
		return "foreigner@example.com"
	}
	return "member@example.com"
}

// expect is the status each target answers: own lab, sub-lab, foreign lab.
type expect [3]int

var users = []string{"admin", "auditor", "manager", "member", "outsider"}

// endpoint is one /api/v1 operation of the matrix, aimed at a lab (or at a
// resource of that lab).
type endpoint struct {
	name     string
	method   string
	path     func(w *world, lab string) string
	body     func(w *world, lab string) string
	mutating bool // needs a fresh world per call
	binary   bool // answers a file rather than JSON when it succeeds
	want     map[string]expect
}

func noBody(*world, string) string { return "" }

func labPath(format string) func(*world, string) string {
	return func(_ *world, lab string) string { return fmt.Sprintf(format, lab) }
}

func fixed(body string) func(*world, string) string {
	return func(*world, string) string { return body }
}

func activityPath(suffix string) func(*world, string) string {
	return func(w *world, lab string) string { return "/activities/" + w.activities[lab] + suffix }
}

func labActivityPath(suffix string) func(*world, string) string {
	return func(w *world, lab string) string { return "/labs/" + lab + "/activities/" + w.activities[lab] + suffix }
}

func importPath(suffix string) func(*world, string) string {
	return func(w *world, lab string) string { return "/imports/" + w.importOf(lab) + suffix }
}

func exportPath(suffix string) func(*world, string) string {
	return func(w *world, lab string) string { return "/reports/" + lab + "/exports/" + w.exportOf(lab) + suffix }
}

// The expectations that recur: what viewing, importing and managing take.
var (
	viewing   = map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}}
	importing = map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}}
	exporting = map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}}
	// Validating and closing years: lab managers, admins (and validators).
	validating = map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}}
	editing    = map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}}
	everyone   = map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 200}, "member": {200, 200, 200}, "outsider": {200, 200, 200}}
)

// adminsOnly is an admin action on no lab in particular: ok for admins,
// 403 for everyone else.
func adminsOnly(ok int) map[string]expect {
	return map[string]expect{"admin": {ok, ok, ok}, "auditor": {403, 403, 403}, "manager": {403, 403, 403}, "member": {403, 403, 403}, "outsider": {403, 403, 403}}
}

// The authorization matrix: every /api/v1 endpoint × every kind of caller ×
// {own lab, sub-lab, foreign lab}, with the exact status. A new endpoint
// joins by adding a row.
var matrix = []endpoint{
	{
		name: "get lab", method: "GET", path: labPath("/labs/%s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "list labs", method: "GET", path: labPath("/labs?parent_id=%s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 200}, "member": {200, 200, 200}, "outsider": {200, 200, 200}},
	},
	{
		name: "create sub-lab", method: "POST", path: labPath("/labs%.0s"), mutating: true,
		body: func(_ *world, lab string) string {
			return fmt.Sprintf(`{"code":"NEW-%d","name":"New","country":"CH","parentId":"%s"}`, worlds.Add(1), lab)
		},
		// A parent the caller cannot see is reported like one that does not exist.
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 400}, "member": {403, 403, 400}, "outsider": {400, 400, 400}},
	},
	{
		name: "replace lab", method: "PUT", path: labPath("/labs/%s"), mutating: true,
		body: func(w *world, lab string) string {
			parent := ""
			if lab == w.sub {
				parent = w.own
			}
			return fmt.Sprintf(`{"code":"PUT-%d","name":"Replaced","country":"FR","parentId":"%s"}`, worlds.Add(1), parent)
		},
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "update lab", method: "PATCH", path: labPath("/labs/%s"), mutating: true,
		body: fixed(`{"description":"Changed"}`),
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "archive lab", method: "DELETE", path: labPath("/labs/%s"), mutating: true, body: noBody,
		// The admin may, but the own lab still has a live sub-lab (400).
		want: map[string]expect{"admin": {400, 200, 200}, "auditor": {403, 403, 403}, "manager": {403, 403, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "unarchive lab", method: "POST", path: labPath("/labs/%s:unarchive"), mutating: true, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {403, 403, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "lab audit trail", method: "GET", path: labPath("/labs/%s/audit"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "whole audit trail", method: "GET", path: labPath("/audit?actor=%s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {403, 403, 403}, "member": {403, 403, 403}, "outsider": {403, 403, 403}},
	},
	{
		name: "list members", method: "GET", path: labPath("/labs/%s/members"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 404}, "member": {200, 200, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "add member", method: "POST", path: labPath("/labs/%s/members"), mutating: true,
		body: fixed(`{"email":"newcomer@example.com","role":"lab_member"}`),
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "remove member", method: "DELETE", path: labPath("/labs/%s/members/" + url.PathEscape("temp@example.com")), mutating: true, body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {200, 200, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{name: "me", method: "GET", path: labPath("/me%.0s"), body: noBody, want: everyone},
	{name: "list templates", method: "GET", path: labPath("/templates%.0s"), body: noBody, want: everyone},
	{name: "get template", method: "GET", path: labPath("/templates/equipment%.0s"), body: noBody, want: everyone},
	{name: "list factors", method: "GET", path: labPath("/factors?kind=electricity%.0s"), body: noBody, want: everyone},
	{name: "list factor datasets", method: "GET", path: labPath("/factor-datasets%.0s"), body: noBody, want: everyone},
	{name: "get factor dataset version", method: "GET", path: labPath("/factor-datasets/default/versions/2026.2%.0s"), body: noBody, want: everyone},
	{
		name: "upload factor dataset", method: "POST", body: fixed(factorHeader + "m,VERSION,electricity,electricity_grid,location,CH,2025,0.1,kWh,test,CC0,AR6,combustion,,10\n"),
		path: func(*world, string) string {
			return fmt.Sprintf("/factor-datasets?dataset=m&version=%d", worlds.Add(1))
		},
		// Factor datasets are the admins' alone, whatever the lab.
		want: adminsOnly(202),
	},
	{
		name: "activate factor dataset version", method: "POST", path: labPath("/factor-datasets/default/versions/2026.2:activate%.0s"),
		body: fixed(`{"years":[2025]}`), want: adminsOnly(200),
	},
	{name: "list recalculations", method: "GET", path: labPath("/labs/%s/recalculations"), body: noBody, want: viewing},
	{name: "list superseded emissions", method: "GET", path: activityPath("/superseded-emissions"), body: noBody, want: viewing},
	{
		name: "upload import", method: "POST", path: labPath("/labs/%s/imports?kind=equipment&year=2025"), mutating: true,
		body: fixed(equipmentHeader + "PC,it,1,40,60,0,0\n"),
		want: map[string]expect{"admin": {202, 202, 202}, "auditor": {403, 403, 403}, "manager": {202, 202, 404}, "member": {202, 202, 404}, "outsider": {404, 404, 404}},
	},
	{name: "list imports", method: "GET", path: labPath("/labs/%s/imports"), body: noBody, want: viewing},
	{name: "import status", method: "GET", path: importPath("/status"), body: noBody, want: viewing},
	{name: "import errors", method: "GET", path: importPath("/errors"), body: noBody, want: viewing},
	{
		name: "cancel import", method: "POST", path: importPath(":cancel"), body: noBody, mutating: true,
		// Allowed, but the import has finished: 400.
		want: map[string]expect{"admin": {400, 400, 400}, "auditor": {403, 403, 403}, "manager": {400, 400, 404}, "member": {400, 400, 404}, "outsider": {404, 404, 404}},
	},
	{name: "retry import", method: "POST", path: importPath(":retry"), body: noBody, mutating: true, want: importing},
	{name: "add activity", method: "POST", path: labPath("/labs/%s/activities"), body: fixed(entryBody), mutating: true, want: importing},
	{name: "list activities", method: "GET", path: labPath("/labs/%s/activities"), body: noBody, want: viewing},
	{name: "get activity", method: "GET", path: activityPath(""), body: noBody, want: viewing},
	{name: "replace activity", method: "PUT", path: activityPath(""), body: fixed(entryBody), mutating: true, want: importing},
	{name: "delete activity", method: "DELETE", path: activityPath(""), body: noBody, mutating: true, want: importing},
	{name: "get report", method: "GET", path: labPath("/reports/%s?year=2025"), body: noBody, want: viewing},
	{name: "report years", method: "GET", path: labPath("/reports/%s/years"), body: noBody, want: viewing},
	{
		name: "lab ranking", method: "GET", path: labPath("/reports?year=2025%.0s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {403, 403, 403}, "member": {403, 403, 403}, "outsider": {403, 403, 403}},
	},
	{name: "create export", method: "POST", path: labPath("/reports/%s/exports"), body: fixed(`{"year":2025}`), want: exporting},
	{name: "export status", method: "GET", path: exportPath(""), body: noBody, want: exporting},
	{name: "download export", method: "GET", path: exportPath(":download"), body: noBody, binary: true, want: exporting},
	{name: "validate activity", method: "POST", path: labActivityPath(":validate"), body: fixed(`{}`), mutating: true, want: validating},
	{name: "reject activity", method: "POST", path: labActivityPath(":reject"), body: fixed(`{"reason":"wrong power"}`), mutating: true, want: validating},
	{name: "validate activities", method: "POST", path: labPath("/labs/%s/activities:validate"), body: fixed(`{"selection":{"year":2025}}`), want: validating},
	{name: "reject activities", method: "POST", path: labPath("/labs/%s/activities:reject"), body: fixed(`{"selection":{"year":2025,"kind":"none"},"reason":"x"}`), want: validating},
	{name: "list reporting years", method: "GET", path: labPath("/labs/%s/years"), body: noBody, want: viewing},
	{name: "get reporting year", method: "GET", path: labPath("/labs/%s/years/2025"), body: noBody, want: viewing},
	{name: "close reporting year", method: "POST", path: labPath("/labs/%s/years/2024:close"), body: fixed(`{}`), mutating: true, want: validating},
	{
		name: "reopen reporting year", method: "POST", body: fixed(`{}`), mutating: true,
		path: func(w *world, lab string) string {
			mustCall(w.t, 200, "POST", w.sys.Gateway+"/api/v1/labs/"+lab+"/years/2023:close", `{}`)
			return "/labs/" + lab + "/years/2023:reopen"
		},
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {403, 403, 403}, "manager": {403, 403, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
	{
		name: "close a year for every lab", method: "POST", body: fixed(`{}`),
		// A year of its own each time (from 1990 to 2019, which no other row uses).
		path: func(*world, string) string { return fmt.Sprintf("/years/%d:close", 1990+worlds.Add(1)%30) },
		want: adminsOnly(200),
	},
	// Objectives (set before they are read: the shared world's labs have
	// 2025 data, the baseline).
	{name: "set objective", method: "PUT", path: labPath("/labs/%s/objective"), body: fixed(objectiveBody), want: editing},
	{name: "get objective", method: "GET", path: labPath("/labs/%s/objective"), body: noBody, want: viewing},
	{
		name: "delete objective", method: "DELETE", mutating: true, body: noBody,
		path: func(w *world, lab string) string {
			mustCall(w.t, 200, "PUT", w.sys.Gateway+"/api/v1/labs/"+lab+"/objective", objectiveBody)
			return "/labs/" + lab + "/objective"
		},
		want: editing,
	},
	{name: "set the institution's objective", method: "PUT", path: labPath("/objective%.0s"), body: fixed(objectiveBody), want: adminsOnly(200)},
	{
		name: "get the institution's objective", method: "GET", path: labPath("/objective%.0s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {403, 403, 403}, "member": {403, 403, 403}, "outsider": {403, 403, 403}},
	},
	{
		name: "list alerts", method: "GET", path: labPath("/alerts?year=2025%.0s"), body: noBody,
		want: map[string]expect{"admin": {200, 200, 200}, "auditor": {200, 200, 200}, "manager": {200, 200, 200}, "member": {403, 403, 403}, "outsider": {403, 403, 403}},
	},
	{
		name: "delete the institution's objective", method: "DELETE", body: noBody,
		path: func(w *world, _ string) string {
			mustCall(w.t, 200, "PUT", w.sys.Gateway+"/api/v1/objective", objectiveBody)
			return "/objective"
		},
		want: adminsOnly(200),
	},
	// Scenarios (of the 2025 data every world's labs have).
	{name: "make a scenario", method: "POST", path: labPath("/labs/%s/scenarios"), body: func(*world, string) string { return scenarioBody() }, want: editing},
	{name: "list scenarios", method: "GET", path: labPath("/labs/%s/scenarios"), body: noBody, want: viewing},
	{
		name: "read a scenario's report", method: "GET", body: noBody,
		path: func(w *world, lab string) string { return "/reports/" + lab + "/scenarios/" + w.scenarioOf(lab) },
		want: viewing,
	},
	{
		name: "delete a scenario", method: "DELETE", mutating: true, body: noBody,
		path: func(w *world, lab string) string { return "/labs/" + lab + "/scenarios/" + w.scenarioOf(lab) },
		want: editing,
	},
	{name: "set electricity contract", method: "PUT", path: labPath("/labs/%s/electricity-contracts/2025"), body: fixed(contractBody), mutating: true, want: editing},
	{name: "get electricity contract", method: "GET", path: labPath("/labs/%s/electricity-contracts/2025"), body: noBody, want: viewing},
	{name: "list electricity contracts", method: "GET", path: labPath("/labs/%s/electricity-contracts"), body: noBody, want: viewing},
	{name: "delete electricity contract", method: "DELETE", path: labPath("/labs/%s/electricity-contracts/2025"), body: noBody, mutating: true, want: editing},
}

func TestAuthorizationMatrix(t *testing.T) {
	// Fresh worlds come and go: roles must count at once in every service.
	sys := startSystem(t, "RATE_LIMIT_READ=100000/1m", "RATE_LIMIT_WRITE=100000/1m", "RATE_LIMIT_UPLOAD=100000/1m", "AUTHZ_CACHE_TTL=0s")
	api := sys.Gateway + "/api/v1"
	shared := newWorld(t, sys)
	cells := 0
	for _, row := range matrix {
		for _, user := range users {
			for target := range 3 {
				w := shared
				if row.mutating {
					w = newWorld(t, sys)
				}
				lab := []string{w.own, w.sub, w.foreign}[target]
				status, message := statusOf(t, user, row, api+row.path(w, lab), row.body(w, lab))
				if want := row.want[user][target]; status != want {
					t.Errorf("%s as %s on the %s lab: %d, want %d (%s)", row.name, user, []string{"own", "sub", "foreign"}[target], status, want, message)
				}
				cells++
			}
		}
	}
	t.Logf("%d endpoints × %d callers × 3 labs = %d cells", len(matrix), len(users), cells)
}

// statusOf calls row's endpoint as user and returns the status and, for a
// JSON answer, its message.
func statusOf(t *testing.T, user string, row endpoint, url, body string) (int, any) {
	t.Helper()
	if row.binary {
		status, contentType, raw := fetch(t, user, row.method, url)
		if strings.HasPrefix(contentType, "application/json") {
			return status, string(raw)
		}
		return status, contentType
	}
	status, answer := call(t, user, row.method, url, body)
	return status, answer["message"]
}

// Each lab's nested resources named under a lab they do not belong to: the
// caller's lab with a lab's resource outside their reach (own ← foreign),
// the sub-lab with its parent's (sub ← own: both within the manager's and
// member's reach, but the resource is not the path's lab's), and a lab out
// of their reach with their own lab's (foreign ← own). Whoever may act on
// the path's lab gets 404, as for an id that does not exist: the resource's
// lab is never read past the one named; the others get the lab's own answer
// (403 inside it, 404 outside). Imports and activities are named by their
// id alone (/imports/{id}, /activities/{id}), with no lab in the path to
// mismatch: the matrix's foreign column covers them.
var crossedMatrix = []endpoint{
	{name: "export status of another lab", method: "GET", path: crossed(func(w *world, lab, other string) string {
		return "/reports/" + lab + "/exports/" + w.exportOf(other)
	}), body: noBody, want: crossedExporting},
	{name: "download of another lab's export", method: "GET", path: crossed(func(w *world, lab, other string) string {
		return "/reports/" + lab + "/exports/" + w.exportOf(other) + ":download"
	}), body: noBody, binary: true, want: crossedExporting},
	{
		name: "remove another lab's member", method: "DELETE", mutating: true, body: noBody,
		path: crossed(func(w *world, lab, other string) string {
			return "/labs/" + lab + "/members/" + url.PathEscape(w.memberOf(other))
		}),
		want: map[string]expect{"admin": {404, 404, 404}, "auditor": {403, 403, 403}, "manager": {404, 404, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}},
	},
}

var crossedExporting = map[string]expect{"admin": {404, 404, 404}, "auditor": {404, 404, 404}, "manager": {404, 404, 404}, "member": {403, 403, 404}, "outsider": {404, 404, 404}}

// crossed turns a path of (lab, other lab) into a matrix path: own names
// foreign's resource, sub own's and foreign own's.
func crossed(path func(w *world, lab, other string) string) func(*world, string) string {
	return func(w *world, lab string) string {
		other := map[string]string{w.own: w.foreign, w.sub: w.own, w.foreign: w.own}[lab]
		return path(w, lab, other)
	}
}

func TestNestedResourcesAreFoundOnlyUnderTheirLab(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_READ=100000/1m", "RATE_LIMIT_WRITE=100000/1m", "RATE_LIMIT_UPLOAD=100000/1m", "AUTHZ_CACHE_TTL=0s")
	api := sys.Gateway + "/api/v1"
	shared := newWorld(t, sys)
	for _, row := range crossedMatrix {
		for _, user := range users {
			for target := range 3 {
				w := shared
				if row.mutating {
					w = newWorld(t, sys)
				}
				lab := []string{w.own, w.sub, w.foreign}[target]
				status, message := statusOf(t, user, row, api+row.path(w, lab), row.body(w, lab))
				if want := row.want[user][target]; status != want {
					t.Errorf("%s as %s under the %s lab: %d, want %d (%s)", row.name, user, []string{"own", "sub", "foreign"}[target], status, want, message)
				}
			}
		}
	}
	// A lab's lists hold its own imports and activities, not its sub-lab's
	// nor another lab's, even for a caller who sees them all.
	for _, lab := range []string{shared.own, shared.sub, shared.foreign} {
		shared.importOf(lab)
	}
	for _, list := range []struct{ path, field string }{{"/imports", "imports"}, {"/activities", "activities"}} {
		for _, lab := range []string{shared.own, shared.sub, shared.foreign} {
			answer := mustCall(t, 200, "GET", api+"/labs/"+lab+list.path+"?page_size=500", "")
			items, _ := answer[list.field].([]any)
			if len(items) == 0 {
				t.Errorf("%s of %s: none", list.field, lab)
			}
			for _, item := range items {
				if owner := item.(map[string]any)["labId"]; owner != lab {
					t.Errorf("%s of %s lists one of %v", list.field, lab, owner)
				}
			}
		}
	}
}

func TestListsShowOnlyTheCallersLabs(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	w := newWorld(t, sys)
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
