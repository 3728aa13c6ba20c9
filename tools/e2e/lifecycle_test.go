package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The data lifecycle (ADR 019): activities validated or rejected, and
// reporting years closed and reopened.

const freezerEntry = `{"year":%d,"kind":"equipment","values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"168","active_power_w":"350"}}`

// freezerKWh is what freezerEntry consumes in a year.
const freezerKWh = 168 * 350 * 52 / 1000.0

// reportFigures returns a report's total, its validated total and share, and
// each module's validated share.
func reportFigures(t *testing.T, user, api, lab string, year int) (total, validated, share float64, modules map[string]float64) {
	t.Helper()
	status, report := call(t, user, "GET", fmt.Sprintf("%s/reports/%s?year=%d", api, lab, year), "")
	if status != http.StatusOK {
		t.Fatalf("report: %d %v", status, report)
	}
	modules = map[string]float64{}
	for _, raw := range report["modules"].([]any) {
		module := raw.(map[string]any)
		modules[module["module"].(string)] = module["validatedShare"].(float64)
	}
	return report["total"].(map[string]any)["kgCo2e"].(float64), report["validatedKgCo2e"].(float64), report["validatedShare"].(float64), modules
}

// refused checks a call's status and that its message says want.
func refused(t *testing.T, what string, status int, answer map[string]any, wantStatus int, want string) {
	t.Helper()
	message, _ := answer["message"].(string)
	if status != wantStatus || !strings.Contains(message+strings.Join(violatedFields(answer), " "), want) {
		t.Fatalf("%s: %d %v, want %d saying %q", what, status, answer, wantStatus, want)
	}
}

func TestEntriesAreValidatedOrRejectedAndReportsShowTheValidatedShare(t *testing.T) {
	sys := startSystem(t, "AUTHZ_CACHE_TTL=0s")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"VAL","name":"Validated lab","country":"CH"}`)["id"].(string)
	other := mustCall(t, 200, "POST", api+"/labs", `{"code":"VAL-OTHER","name":"Other lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	// The outsider validates the other lab only, for now.
	mustCall(t, 200, "POST", api+"/labs/"+other+"/members", `{"email":"outsider@example.com","role":"validator"}`)

	// A member's entry is pending; the report counts it in the total only.
	status, freezer := call(t, "member", "POST", api+"/labs/"+lab+"/activities", fmt.Sprintf(freezerEntry, 2025))
	if status != http.StatusOK || freezer["state"] != "pending" {
		t.Fatalf("entry: %d %v", status, freezer)
	}
	id := freezer["id"].(string)
	total, validated, share, _ := reportFigures(t, "member", api, lab, 2025)
	if !near(total, freezerKWh*0.097) || validated != 0 || share != 0 {
		t.Fatalf("report before validation: total %v, validated %v, share %v", total, validated, share)
	}

	// Who may validate: not the member (403); the other lab's validator
	// finds neither the lab (404) nor the activity under their own lab (404).
	status, answer := call(t, "member", "POST", api+"/labs/"+lab+"/activities/"+id+":validate", `{}`)
	refused(t, "member validating", status, answer, http.StatusForbidden, "validating")
	status, answer = call(t, "outsider", "POST", api+"/labs/"+lab+"/activities/"+id+":validate", `{}`)
	refused(t, "another lab's validator", status, answer, http.StatusNotFound, "no lab")
	status, answer = call(t, "outsider", "POST", api+"/labs/"+other+"/activities/"+id+":validate", `{}`)
	refused(t, "an activity of another lab", status, answer, http.StatusNotFound, "has no activity")

	// The manager validates it: the report's validated total moves.
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/activities/"+id+":validate", `{}`)
	if status != http.StatusOK || answer["state"] != "validated" || answer["stateBy"] == "" || answer["stateAt"] == nil {
		t.Fatalf("manager validating: %d %v", status, answer)
	}
	total, validated, share, modules := reportFigures(t, "member", api, lab, 2025)
	if !near(validated, freezerKWh*0.097) || !near(validated, total) || share != 1 || modules["equipment"] != 1 {
		t.Fatalf("report after validation: total %v, validated %v, share %v, modules %v", total, validated, share, modules)
	}
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/activities/"+id+":validate", `{}`)
	refused(t, "validating twice", status, answer, http.StatusConflict, "already validated")

	// A second entry, rejected: without a reason 400, with one it is kept.
	plane := mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities",
		`{"year":2025,"kind":"plane","values":{"departure":"GVA","arrival":"LHR","trips":"1","round_trip":"yes"}}`)
	planeID := plane["id"].(string)
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/activities/"+planeID+":reject", `{"reason":"  "}`)
	refused(t, "rejecting without a reason", status, answer, http.StatusBadRequest, "reason")
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/activities/"+planeID+":reject", `{"reason":"The flight was to Manchester"}`)
	if status != http.StatusOK || answer["state"] != "rejected" || answer["stateReason"] != "The flight was to Manchester" {
		t.Fatalf("rejecting: %d %v", status, answer)
	}
	if got := mustCall(t, 200, "GET", api+"/activities/"+planeID, ""); got["stateReason"] != "The flight was to Manchester" {
		t.Fatalf("the reason is not kept: %v", got)
	}
	rejected, _ := mustCall(t, 200, "GET", api+"/labs/"+lab+"/activities?state=rejected", "")["activities"].([]any)
	if len(rejected) != 1 || rejected[0].(map[string]any)["id"] != planeID {
		t.Fatalf("listing the rejected: %v", rejected)
	}
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/activities/"+planeID+":validate", `{}`)
	refused(t, "validating a rejected activity unchanged", status, answer, http.StatusConflict, "was rejected (The flight was to Manchester)")
	_, _, share, modules = reportFigures(t, "member", api, lab, 2025)
	if share <= 0 || share >= 1 || modules["equipment"] != 1 || modules["professional_travel"] != 0 {
		t.Fatalf("shares with a rejected flight: %v %v", share, modules)
	}

	// Changing an activity makes it pending again, validated or rejected.
	replaced := mustCall(t, 200, "PUT", api+"/activities/"+planeID,
		`{"year":2025,"values":{"departure":"GVA","arrival":"MAN","trips":"1","round_trip":"yes"}}`)
	if replaced["state"] != "pending" || replaced["stateReason"] != "" {
		t.Fatalf("a replaced rejected activity: %v", replaced)
	}
	replaced = mustCall(t, 200, "PUT", api+"/activities/"+id, fmt.Sprintf(freezerEntry, 2025))
	if replaced["state"] != "pending" {
		t.Fatalf("a replaced validated activity: %v", replaced)
	}
	if _, validated, _, _ = reportFigures(t, "member", api, lab, 2025); validated != 0 {
		t.Fatalf("validated total after the change: %v", validated)
	}

	// A whole import validated in one call, by a validator of the lab.
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"outsider@example.com","role":"validator"}`)
	_, uploaded := upload(t, sys, "member", lab, "kind=equipment&year=2025", equipmentHeader+"PC,it,1,40,60,0,0\nPC,it,2,40,60,0,0\nScreen,it,3,40,30,0,0\n", false)
	importID := importID(t, uploaded)
	waitFinished(t, sys, importID)
	pending, _ := mustCall(t, 200, "GET", api+"/labs/"+lab+"/activities?state=pending&source=csv", "")["activities"].([]any)
	if len(pending) != 3 {
		t.Fatalf("imported activities pending: %v", pending)
	}
	status, answer = call(t, "outsider", "POST", api+"/labs/"+lab+"/activities:validate", `{"selection":{"importId":"`+importID+`"}}`)
	if status != http.StatusOK || answer["validated"] != "3" {
		t.Fatalf("validating the import: %d %v", status, answer)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE import_id = $1 AND state = 'validated'", importID); got != 3 {
		t.Fatalf("validated rows of the import: %v", got)
	}
	importKg := queryFloat(t, sys, `SELECT sum(e.kg_co2e) FROM calc.emissions e JOIN calc.activities a ON a.id = e.activity_id
		WHERE a.import_id = $1 AND e.variant = ''`, importID)
	if _, validated, _, _ = reportFigures(t, "member", api, lab, 2025); !near(validated, importKg) {
		t.Fatalf("validated total after the import: %v, want %v", validated, importKg)
	}
	status, answer = call(t, "outsider", "POST", api+"/labs/"+other+"/activities:validate", `{"selection":{"importId":"`+importID+`"}}`)
	refused(t, "an import of another lab", status, answer, http.StatusNotFound, "no applied import")
	status, answer = call(t, "outsider", "POST", api+"/labs/"+lab+"/activities:validate", `{"selection":{"kind":"equipment"}}`)
	refused(t, "a set without a year", status, answer, http.StatusBadRequest, "selection")

	// The trail shows each validation with its actor and the states before
	// and after; the refused ones left nothing; the whole import is one event.
	events, _ := auditPage(t, "manager", api+"/labs/"+lab+"/audit", url.Values{"page_size": {"500"}})
	validatedEntry := findEvent(t, events, "activity", id, "validate")
	if validatedEntry["actorEmail"] != "manager@example.com" || values(validatedEntry, "before")["state"] != "pending" ||
		values(validatedEntry, "after")["state"] != "validated" || validatedEntry["labId"] != lab {
		t.Fatalf("the validation of an entry in the trail: %v", validatedEntry)
	}
	rejectedEntry := findEvent(t, events, "activity", planeID, "reject")
	if rejectedEntry["actorEmail"] != "manager@example.com" || values(rejectedEntry, "before")["state"] != "pending" ||
		values(rejectedEntry, "after")["state"] != "rejected" || values(rejectedEntry, "after")["reason"] != "The flight was to Manchester" {
		t.Fatalf("the rejection of an entry in the trail: %v", rejectedEntry)
	}
	validatedImport := findEvent(t, events, "import", importID, "validate")
	after := values(validatedImport, "after")
	if validatedImport["actorEmail"] != "outsider@example.com" || after["state"] != "validated" || after["activities_changed"] != float64(3) ||
		values(after, "selection")["import_id"] != importID || values(after, "selection")["year"] != float64(2025) {
		t.Fatalf("the validation of the import in the trail: %v", validatedImport)
	}
	validations := 0
	for _, e := range events {
		if e["action"] == "validate" || e["action"] == "reject" {
			validations++
		}
	}
	if validations != 3 {
		t.Fatalf("want 3 validation events (an entry, a rejection, the import in one), got %d", validations)
	}
}

func TestAClosedYearRefusesWritesUntilAnAdminReopensIt(t *testing.T) {
	sys := startSystem(t, "AUTHZ_CACHE_TTL=0s", "RECALC_DELAY=1s")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"YEARS","name":"Closing lab","country":"CH"}`)["id"].(string)
	open := mustCall(t, 200, "POST", api+"/labs", `{"code":"YEARS-OPEN","name":"Open lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	for _, id := range []string{lab, open} {
		mustCall(t, 200, "POST", api+"/labs/"+id+"/activities", fmt.Sprintf(freezerEntry, 2024))
	}

	// The manager closes 2024; closing it again is a conflict.
	status, closed := call(t, "manager", "POST", api+"/labs/"+lab+"/years/2024:close", `{}`)
	if status != http.StatusOK || closed["state"] != "closed" || closed["changedBy"] == "" {
		t.Fatalf("closing: %d %v", status, closed)
	}
	status, answer := call(t, "manager", "POST", api+"/labs/"+lab+"/years/2024:close", `{}`)
	refused(t, "closing twice", status, answer, http.StatusConflict, "already closed")
	years, _ := mustCall(t, 200, "GET", api+"/labs/"+lab+"/years", "")["years"].([]any)
	if len(years) != 1 || years[0].(map[string]any)["year"] != float64(2024) || years[0].(map[string]any)["state"] != "closed" {
		t.Fatalf("years: %v", years)
	}

	// An import, an entry and a contract of 2024 are refused, naming the year.
	status, answer = upload(t, sys, "member", lab, "kind=equipment&year=2024", equipmentHeader+"PC,it,1,40,60,0,0\n", false)
	refused(t, "an import", status, answer, http.StatusConflict, "year 2024")
	status, answer = call(t, "member", "POST", api+"/labs/"+lab+"/activities", fmt.Sprintf(freezerEntry, 2024))
	refused(t, "an entry", status, answer, http.StatusConflict, "year 2024")
	status, answer = call(t, "manager", "PUT", api+"/labs/"+lab+"/electricity-contracts/2024", contractBody)
	refused(t, "a contract", status, answer, http.StatusConflict, "year 2024")
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1 AND year = 2024", lab); got != 1 {
		t.Fatalf("activities of the closed year: %v", got)
	}
	// Other years and other labs are open.
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", fmt.Sprintf(freezerEntry, 2025))
	mustCall(t, 200, "POST", api+"/labs/"+open+"/activities", fmt.Sprintf(freezerEntry, 2024))

	// A factor activation skips the closed year and says so.
	csv := factorHeader + "grid,2024.9,electricity,electricity_grid,location,CH,2024,0.125,kWh,Operator's own figure for the Swiss mix 2024,CC-BY-4.0,AR6,life_cycle,,12\n"
	if status, answer = uploadFactors(t, sys, "admin", "dataset=grid&version=2024.9", csv); status != http.StatusAccepted {
		t.Fatalf("factor upload: %d %v", status, answer)
	}
	waitSynced(t, sys, "grid", "2024.9")
	const equipment2024 = "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND year = 2024 AND module = 'equipment' AND variant = ''"
	closedBefore := queryFloat(t, sys, equipment2024, lab)
	activated := mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2024.9:activate", `{"years":[2024]}`)
	skipped, _ := activated["skipped"].([]any)
	if len(skipped) != 1 || skipped[0].(map[string]any)["labId"] != lab || skipped[0].(map[string]any)["year"] != float64(2024) {
		t.Fatalf("activation: %v", activated)
	}
	waitFor(t, sys, "the open lab recalculated", 2*freezerKWh*0.125, equipment2024, open)
	if got := queryFloat(t, sys, equipment2024, lab); got != closedBefore {
		t.Fatalf("the closed year changed: %v, was %v", got, closedBefore)
	}
	// Forced by an admin, it does not skip.
	activated = mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2024.9:activate", `{"years":[2024],"force":true}`)
	if skipped, _ := activated["skipped"].([]any); len(skipped) != 0 {
		t.Fatalf("forced activation skipped %v", skipped)
	}
	waitFor(t, sys, "the closed lab recalculated when forced", freezerKWh*0.125, equipment2024, lab)

	// Reopening is for admins only; reopening an open year is a conflict.
	status, answer = call(t, "manager", "POST", api+"/labs/"+lab+"/years/2024:reopen", `{}`)
	refused(t, "a manager reopening", status, answer, http.StatusForbidden, "admins only")
	if reopened := mustCall(t, 200, "POST", api+"/labs/"+lab+"/years/2024:reopen", `{}`); reopened["state"] != "open" {
		t.Fatalf("reopened: %v", reopened)
	}
	status, answer = call(t, "admin", "POST", api+"/labs/"+lab+"/years/2024:reopen", `{}`)
	refused(t, "reopening an open year", status, answer, http.StatusConflict, "is open")
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", fmt.Sprintf(freezerEntry, 2024))

	// The institution closes 2023 for every lab at once: admins only.
	status, answer = call(t, "manager", "POST", api+"/years/2023:close", `{}`)
	refused(t, "a manager closing for every lab", status, answer, http.StatusForbidden, "admins")
	mustCall(t, 200, "POST", api+"/years/2023:close", `{}`)
	status, answer = call(t, "admin", "POST", api+"/years/2023:close", `{}`)
	refused(t, "closing for every lab twice", status, answer, http.StatusConflict, "already closed")
	for _, id := range []string{lab, open} {
		status, answer = call(t, "admin", "POST", api+"/labs/"+id+"/activities", fmt.Sprintf(freezerEntry, 2023))
		refused(t, "an entry after the institution closed the year", status, answer, http.StatusConflict, "year 2023")
	}
	// A lab reopened alone takes writes; the others stay closed.
	mustCall(t, 200, "POST", api+"/labs/"+open+"/years/2023:reopen", `{}`)
	mustCall(t, 200, "POST", api+"/labs/"+open+"/activities", fmt.Sprintf(freezerEntry, 2023))
	status, answer = call(t, "member", "POST", api+"/labs/"+lab+"/activities", fmt.Sprintf(freezerEntry, 2023))
	refused(t, "an entry of a lab still closed", status, answer, http.StatusConflict, "year 2023")

	// The trail shows each close and reopening, with its actor and the
	// year's state before and after; the refused ones left nothing.
	admin := callAs(t, "admin", 200, "GET", api+"/me", "")["email"]
	events, _ := auditPage(t, "manager", api+"/labs/"+lab+"/audit", url.Values{"page_size": {"500"}, "resource_type": {"reporting_year"}})
	yearEvent := func(events []map[string]any, year, action, actor, before, after string) map[string]any {
		t.Helper()
		e := findEvent(t, events, "reporting_year", year, action)
		if e["actorEmail"] != actor || values(e, "before")["state"] != before || values(e, "after")["state"] != after {
			t.Fatalf("%s of %s in the trail, want %s by %s: %v", action, year, after, actor, e)
		}
		return e
	}
	yearEvent(events, "2024", "close", "manager@example.com", "open", "closed")
	yearEvent(events, "2024", "reopen", admin.(string), "closed", "open")
	if e := yearEvent(events, "2023", "close", admin.(string), "open", "closed"); values(e, "after")["every_lab"] != true || e["labId"] != lab {
		t.Fatalf("the institution's close in the lab's trail: %v", e)
	}
	if len(events) != 3 {
		t.Fatalf("want 3 year events in the lab's trail, got %v", events)
	}
	events, _ = auditPage(t, "admin", api+"/labs/"+open+"/audit", url.Values{"page_size": {"500"}, "resource_type": {"reporting_year"}})
	yearEvent(events, "2023", "close", admin.(string), "open", "closed")
	yearEvent(events, "2023", "reopen", admin.(string), "closed", "open")
	// The whole trail adds the institution's close, of no lab, and the
	// activations, forced or not, with the closed labs they skipped or
	// recalculated.
	events, _ = auditPage(t, "admin", api+"/audit", url.Values{"page_size": {"500"}})
	var everywhere, activations []map[string]any
	for _, e := range events {
		switch e["resourceType"] {
		case "reporting_year":
			if lab, _ := e["labId"].(string); lab == "" {
				everywhere = append(everywhere, e)
			}
		case "factor_activation":
			activations = append(activations, e)
		}
	}
	if len(everywhere) != 1 || everywhere[0]["resourceId"] != "2023" || values(everywhere[0], "after")["labs_closed"] != float64(2) {
		t.Fatalf("the institution's close in the whole trail: %v", everywhere)
	}
	if len(activations) != 2 {
		t.Fatalf("want two activations in the trail: %v", activations)
	}
	forced, skipping := values(activations[0], "after"), values(activations[1], "after") // newest first
	if skipping["force"] != false || fmt.Sprint(skipping["closed_labs_skipped"]) != fmt.Sprint([]any{lab}) || skipping["closed_labs_recalculated"] != nil {
		t.Fatalf("the activation that skipped a closed year: %v", skipping)
	}
	if forced["force"] != true || fmt.Sprint(forced["closed_labs_recalculated"]) != fmt.Sprint([]any{lab}) || forced["closed_labs_skipped"] != nil {
		t.Fatalf("the forced activation: %v", forced)
	}
}
