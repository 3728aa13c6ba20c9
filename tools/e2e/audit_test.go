package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// auditPage reads one page of an audit endpoint as user.
func auditPage(t *testing.T, user, endpoint string, query url.Values) (events []map[string]any, next string) {
	t.Helper()
	answer := callAs(t, user, 200, "GET", endpoint+"?"+query.Encode(), "")
	for _, event := range answer["events"].([]any) {
		events = append(events, event.(map[string]any))
	}
	next, _ = answer["nextPageToken"].(string)
	return events, next
}

// findEvent returns the one event of resource id with action, failing when
// there is not exactly one.
func findEvent(t *testing.T, events []map[string]any, resourceType, resourceID, action string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, e := range events {
		if e["resourceType"] == resourceType && e["resourceId"] == resourceID && e["action"] == action {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s of %s %s in the trail, got %d among %d events", action, resourceType, resourceID, len(found), len(events))
	}
	return found[0]
}

// values returns the before or after value of an event (nil when absent).
func values(event map[string]any, side string) map[string]any {
	value, _ := event[side].(map[string]any)
	return value
}

func TestAuditTrailRecordsEveryChangeWithItsActorAndValues(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	me := map[string]map[string]any{}
	for _, user := range []string{"admin", "manager"} {
		me[user] = callAs(t, user, 200, "GET", api+"/me", "")
	}

	// The admin registers the lab and its people; the manager does the rest.
	lab := callAs(t, "admin", 200, "POST", api+"/labs", `{"code":"AUD-1","name":"Audited lab","country":"CH"}`)["id"].(string)
	sub := callAs(t, "admin", 200, "POST", api+"/labs", fmt.Sprintf(`{"code":"AUD-1-SUB","name":"Audited sub-lab","country":"CH","parentId":"%s"}`, lab))["id"].(string)
	callAs(t, "admin", 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	callAs(t, "admin", 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	entry := callAs(t, "manager", 200, "POST", api+"/labs/"+lab+"/activities", entryBody)["id"].(string)
	callAs(t, "manager", 200, "PUT", api+"/activities/"+entry,
		`{"year":2025,"values":{"equipment_name":"PC","category":"it","active_hours_per_week":"20","active_power_w":"60"}}`)
	callAs(t, "manager", 200, "DELETE", api+"/activities/"+entry, "")
	status, answer := upload(t, sys, "manager", lab, "kind=equipment&year=2025&mode=replace", equipmentHeader+"PC,it,1,40,60,0,0\nBad,it,x,40,60,0,0\n", false)
	if status != 202 {
		t.Fatalf("upload: %d %v", status, answer)
	}
	importID := importID(t, answer)
	waitFinished(t, sys, importID)
	callAs(t, "manager", 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody)
	export := callAs(t, "manager", 200, "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	subEntry := callAs(t, "manager", 200, "POST", api+"/labs/"+sub+"/activities", entryBody)["id"].(string)

	trail := api + "/labs/" + lab + "/audit"
	events, next := auditPage(t, "manager", trail, url.Values{"page_size": {"500"}})
	if next != "" {
		t.Fatalf("a page of 500 should hold this lab's trail, next page %q", next)
	}

	t.Run("each change appears once with who, what and the values", func(t *testing.T) {
		created := findEvent(t, events, "lab", lab, "create")
		if created["service"] != "labs" || created["actorSubject"] != me["admin"]["subject"] || created["actorEmail"] != me["admin"]["email"] ||
			created["before"] != nil || values(created, "after")["code"] != "AUD-1" || created["labId"] != lab {
			t.Fatalf("lab creation: %v", created)
		}
		member := findEvent(t, events, "membership", lab+"/manager@example.com", "add_member")
		if values(member, "after")["role"] != "lab_manager" || member["actorSubject"] != me["admin"]["subject"] {
			t.Fatalf("membership: %v", member)
		}
		manager := func(e map[string]any) {
			t.Helper()
			if e["actorSubject"] != me["manager"]["subject"] || e["actorEmail"] != "manager@example.com" {
				t.Fatalf("want the manager as actor: %v", e)
			}
		}
		added := findEvent(t, events, "activity", entry, "create")
		manager(added)
		if added["service"] != "calc" || added["before"] != nil || values(values(added, "after"), "inputs") == nil {
			t.Fatalf("entry creation: %v", added)
		}
		replaced := findEvent(t, events, "activity", entry, "replace")
		manager(replaced)
		before, after := values(values(replaced, "before"), "inputs"), values(values(replaced, "after"), "inputs")
		if fmt.Sprint(before["active_hours_per_week"]) != "40" || fmt.Sprint(after["active_hours_per_week"]) != "20" ||
			values(replaced, "before")["kg_co2e"].(float64) <= values(replaced, "after")["kg_co2e"].(float64) {
			t.Fatalf("entry replacement, before %v after %v", replaced["before"], replaced["after"])
		}
		deleted := findEvent(t, events, "activity", entry, "delete")
		manager(deleted)
		if deleted["after"] != nil || fmt.Sprint(values(values(deleted, "before"), "inputs")["active_hours_per_week"]) != "20" {
			t.Fatalf("entry deletion: %v", deleted)
		}
		imported := findEvent(t, events, "import", importID, "create")
		manager(imported)
		if imported["service"] != "ingest" || values(imported, "after")["mode"] != "replace" {
			t.Fatalf("import creation: %v", imported)
		}
		finished := findEvent(t, events, "import", importID, "finish")
		if !strings.HasPrefix(finished["actorEmail"].(string), "svc-calc@") || values(finished, "after")["rows_ok"] != float64(1) ||
			values(finished, "after")["rows_rejected"] != float64(1) || values(finished, "before")["result"] != "" {
			t.Fatalf("import end: %v", finished)
		}
		contract := findEvent(t, events, "electricity_contract", lab+"/2025", "set")
		manager(contract)
		if contract["before"] != nil || values(contract, "after")["supplier"] != "Hydro SA" {
			t.Fatalf("contract: %v", contract)
		}
		exported := findEvent(t, events, "export", export, "create")
		manager(exported)
		if exported["service"] != "reporting" || values(exported, "after")["year"] != float64(2025) {
			t.Fatalf("export: %v", exported)
		}
		for _, e := range events {
			if e["resourceId"] == subEntry {
				t.Fatalf("the sub-lab's entry is in the lab's trail without include_sublabs: %v", e)
			}
		}
		// One event per import, never one per row.
		rows := 0
		for _, e := range events {
			if e["resourceType"] == "import" || strings.Contains(fmt.Sprint(e["resourceId"]), importID) {
				rows++
			}
		}
		if rows != 2 {
			t.Fatalf("want 2 events of the import (create, finish), got %d", rows)
		}
	})

	t.Run("filters", func(t *testing.T) {
		only := func(query url.Values, check func(map[string]any) bool, want int) {
			t.Helper()
			query.Set("page_size", "500")
			got, _ := auditPage(t, "manager", trail, query)
			if len(got) != want {
				t.Fatalf("%v: want %d events, got %d", query, want, len(got))
			}
			for _, e := range got {
				if !check(e) {
					t.Fatalf("%v: %v does not match", query, e)
				}
			}
		}
		only(url.Values{"action": {"replace"}}, func(e map[string]any) bool { return e["action"] == "replace" }, 1)
		only(url.Values{"resource_type": {"activity"}}, func(e map[string]any) bool { return e["resourceType"] == "activity" }, 3)
		only(url.Values{"actor": {"manager@example.com"}}, func(e map[string]any) bool { return e["actorEmail"] == "manager@example.com" }, 6)
		only(url.Values{"actor": {me["manager"]["subject"].(string)}, "resource_type": {"import"}},
			func(e map[string]any) bool { return e["action"] == "create" }, 1)
		// Time: from the replacement on (inclusive), and before it.
		replaced := findEvent(t, events, "activity", entry, "replace")["occurredAt"].(string)
		at, err := time.Parse(time.RFC3339Nano, replaced)
		if err != nil {
			t.Fatal(err)
		}
		later, earlier := 0, 0
		for _, e := range events {
			if occurred, _ := time.Parse(time.RFC3339Nano, e["occurredAt"].(string)); occurred.Before(at) {
				earlier++
			} else {
				later++
			}
		}
		when := func(e map[string]any) time.Time {
			parsed, _ := time.Parse(time.RFC3339Nano, e["occurredAt"].(string))
			return parsed
		}
		only(url.Values{"since": {replaced}}, func(e map[string]any) bool { return !when(e).Before(at) }, later)
		only(url.Values{"until": {replaced}}, func(e map[string]any) bool { return when(e).Before(at) }, earlier)
		if later == 0 || earlier == 0 {
			t.Fatalf("the replacement should split the trail: %d before, %d from it", earlier, later)
		}
		status, _ := call(t, "manager", "GET", trail+"?since="+url.QueryEscape(replaced)+"&until="+url.QueryEscape(replaced), "")
		if status != 400 {
			t.Fatalf("since = until: want 400, got %d", status)
		}
	})

	t.Run("pages of 2 walk the trail with its sub-labs exactly once", func(t *testing.T) {
		all, _ := auditPage(t, "manager", trail, url.Values{"page_size": {"500"}, "include_sublabs": {"true"}})
		if len(all) != len(events)+2 { // the sub-lab's creation and its entry
			t.Fatalf("with sub-labs: want %d events, got %d", len(events)+2, len(all))
		}
		findEvent(t, all, "activity", subEntry, "create")
		_, first := auditPage(t, "manager", trail, url.Values{"page_size": {"2"}, "include_sublabs": {"true"}})
		status, _ := call(t, "manager", "GET", trail+"?page_size=2&include_sublabs=true&action=create&page_token="+url.QueryEscape(first), "")
		if status != 400 {
			t.Fatalf("a page token of other filters: want 400, got %d", status)
		}
		var walked []string
		token := ""
		for pages := 0; ; pages++ {
			query := url.Values{"page_size": {"2"}, "include_sublabs": {"true"}}
			if token != "" {
				query.Set("page_token", token)
			}
			page, next := auditPage(t, "manager", trail, query)
			if len(page) > 2 || (next != "" && len(page) != 2) || pages > len(all) {
				t.Fatalf("page %d: %d events, next %q", pages, len(page), next)
			}
			for _, e := range page {
				walked = append(walked, fmt.Sprint(e["service"], "/", e["id"]))
			}
			if token = next; token == "" {
				break
			}
		}
		want := make([]string, len(all))
		for i, e := range all {
			want[i] = fmt.Sprint(e["service"], "/", e["id"])
		}
		if strings.Join(walked, " ") != strings.Join(want, " ") {
			t.Fatalf("pages of 2 gave\n%v\nwant\n%v", walked, want)
		}
	})

	t.Run("who may read", func(t *testing.T) {
		for user, want := range map[string]int{"admin": 200, "auditor": 200, "manager": 200, "member": 403, "outsider": 404} {
			if status, answer := call(t, user, "GET", trail, ""); status != want {
				t.Errorf("%s reading the lab's trail: want %d, got %d %v", user, want, status, answer)
			}
		}
		for user, want := range map[string]int{"admin": 200, "auditor": 200, "manager": 403, "member": 403, "outsider": 403} {
			if status, answer := call(t, user, "GET", api+"/audit", ""); status != want {
				t.Errorf("%s reading the whole trail: want %d, got %d %v", user, want, status, answer)
			}
		}
		whole, _ := auditPage(t, "auditor", api+"/audit", url.Values{"page_size": {"500"}, "resource_type": {"lab"}})
		findEvent(t, whole, "lab", lab, "create")
		findEvent(t, whole, "lab", sub, "create")
	})

	t.Run("the trail refuses UPDATE and DELETE", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), sys.DBURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, schema := range []string{"labs", "ingest", "calc", "reporting"} {
			for _, statement := range []string{
				"UPDATE " + schema + ".audit_events SET action = 'forged'",
				"DELETE FROM " + schema + ".audit_events",
				"TRUNCATE " + schema + ".audit_events",
			} {
				if _, err := conn.Exec(context.Background(), statement); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: want refused as append-only, got %v", statement, err)
				}
			}
		}
		// Every event read before is still there as it was (work still under
		// way, such as a recalculation, may have added some since).
		after, _ := auditPage(t, "manager", trail, url.Values{"page_size": {"500"}})
		kept := map[string]string{}
		for _, event := range after {
			kept[fmt.Sprint(event["id"], event["service"])] = fmt.Sprint(event)
		}
		for _, event := range events {
			if kept[fmt.Sprint(event["id"], event["service"])] != fmt.Sprint(event) {
				t.Fatalf("the trail changed: %v is gone or different", event)
			}
		}
	})
}
