package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func planeEntry(year int, from, to string, trips int, cabin string) string {
	return fmt.Sprintf(`{"year":%d,"kind":"plane","values":{"departure":%q,"arrival":%q,"trips":"%d","cabin_class":%q,"round_trip":"yes"}}`,
		year, from, to, trips, cabin)
}

func trainEntry(year int, from, to string, trips int) string {
	return fmt.Sprintf(`{"year":%d,"kind":"train","values":{"origin":%q,"destination":%q,"trips":"%d","round_trip":"yes"}}`, year, from, to, trips)
}

// closeTo compares figures summed in different orders.
func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// comparison reads a Comparison of a scenario's report.
func comparison(t *testing.T, report map[string]any, field string) (actual, scenario, difference float64) {
	t.Helper()
	c, ok := report[field].(map[string]any)
	if !ok {
		t.Fatalf("no %s in %v", field, report)
	}
	return number(c["actualKgCo2e"]), number(c["scenarioKgCo2e"]), number(c["differenceKgCo2e"])
}

func moduleComparison(t *testing.T, report map[string]any, module string) (actual, scenario float64) {
	t.Helper()
	for _, m := range report["modules"].([]any) {
		if m := m.(map[string]any); m["module"] == module {
			c := m["comparison"].(map[string]any)
			return number(c["actualKgCo2e"]), number(c["scenarioKgCo2e"])
		}
	}
	t.Fatalf("no module %s in %v", module, report["modules"])
	return 0, 0
}

// A scenario replacing short flights by train reports the exact difference
// a lab that took those trains reports, computed from the same factors,
// and the actual report does not move.
func TestScenariosComputeApartFromActualData(t *testing.T) {
	sys := startSystem(t, "SCENARIO_MAX_EDITS=2")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"SCN","name":"Scenario lab","country":"CH"}`)["id"].(string)
	// The reference lab took the trains the scenario assumes.
	ref := mustCall(t, 200, "POST", api+"/labs", `{"code":"SCN-REF","name":"Reference lab","country":"CH"}`)["id"].(string)
	other := mustCall(t, 200, "POST", api+"/labs", `{"code":"SCN-OTHER","name":"Other lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", equipmentEntry(2024, "Freezer", 168, 1000))
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", planeEntry(2024, "GVA", "JFK", 2, "business"))
	for _, body := range []string{
		planeEntry(2025, "GVA", "CDG", 2, "economy"),  // 410 km: by train in the scenario
		planeEntry(2025, "GVA", "LHR", 1, "economy"),  // 750 km: by train
		planeEntry(2025, "GVA", "JFK", 1, "business"), // 6,200 km: still flown
		equipmentEntry(2025, "Freezer", 100, 1000),
	} {
		mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", body)
	}
	for _, body := range []string{
		trainEntry(2025, "GVA", "CDG", 2), trainEntry(2025, "GVA", "LHR", 1),
		planeEntry(2025, "GVA", "JFK", 1, "business"), equipmentEntry(2025, "Freezer", 100, 1000),
	} {
		mustCall(t, 200, "POST", api+"/labs/"+ref+"/activities", body)
	}
	mustCall(t, 200, "POST", api+"/labs/"+other+"/activities", equipmentEntry(2025, "Oven", 10, 1000))
	mustCall(t, 200, "PUT", api+"/labs/"+lab+"/objective", `{"baselineYear":2024,"targetYear":2030,"reductionPct":50}`)
	actualBefore := mustCall(t, 200, "GET", api+"/reports/"+lab+"?year=2025", "")
	actualTotal, refTotal, baseline := totalOf(t, api, lab, 2025), totalOf(t, api, ref, 2025), totalOf(t, api, lab, 2024)
	if refTotal >= actualTotal {
		t.Fatalf("trains (%g kg) emit less than flights (%g kg)", refTotal, actualTotal)
	}

	scenarios := api + "/labs/" + lab + "/scenarios"
	// Bad scenarios: 400 naming the field, nothing stored.
	for _, c := range []struct{ name, body, field string }{
		{"an unknown kind", `{"year":2025,"name":"x","rules":[{"kind":"rocket","remove":true}]}`, "rules[0].kind"},
		{"an unknown column", `{"year":2025,"name":"x","rules":[{"kind":"plane","where":[{"column":"altitude","op":"gt","value":"1"}],"remove":true}]}`, "rules[0].where[0].column"},
		{"an unknown target kind", `{"year":2025,"name":"x","rules":[{"kind":"plane","toKind":"rocket"}]}`, "rules[0].to_kind"},
		{"a year without data", `{"year":2019,"name":"x"}`, "scenario.year"},
		{"no name", `{"year":2025}`, "scenario.name"},
		{"a conversion that cannot compute", `{"year":2025,"name":"x","rules":[{"kind":"plane","toKind":"train","rename":{"origin":"cabin_class"}}]}`, "rules[0]"},
	} {
		status, answer := call(t, "manager", "POST", scenarios, c.body)
		if status != http.StatusBadRequest || !slices.Contains(violatedFields(answer), c.field) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, status, answer, c.field)
		}
	}
	if status, _ := call(t, "member", "POST", scenarios, `{"year":2025,"name":"x"}`); status != http.StatusForbidden {
		t.Fatalf("a member made a scenario: %d", status)
	}
	if listed := callAs(t, "member", 200, "GET", scenarios, ""); len(listed["scenarios"].([]any)) != 0 {
		t.Fatalf("refused scenarios were stored: %v", listed)
	}

	created := callAs(t, "manager", 200, "POST", scenarios,
		`{"year":2025,"name":"Trains under 1000 km","rules":[{"description":"short flights by train","kind":"plane","where":[{"column":"great_circle_km","op":"lt","value":"1000"}],"toKind":"train"}]}`)
	id := created["id"].(string)
	if created["activities"] != "4" || created["computedRows"] != "4" || fmt.Sprint(created["ruleMatches"]) != "[2]" {
		t.Fatalf("created: %v", created)
	}
	if !closeTo(number(created["kgCo2e"]), refTotal) {
		t.Fatalf("scenario total %v, want the reference lab's %g", created["kgCo2e"], refTotal)
	}

	// The side-by-side report, as a member reads it.
	reportURL := api + "/reports/" + lab + "/scenarios/" + id
	report := callAs(t, "member", 200, "GET", reportURL, "")
	actual, scenario, difference := comparison(t, report, "total")
	if !closeTo(actual, actualTotal) || !closeTo(scenario, refTotal) || !closeTo(difference, refTotal-actualTotal) {
		t.Fatalf("total: actual %g scenario %g difference %g, want %g %g %g", actual, scenario, difference, actualTotal, refTotal, refTotal-actualTotal)
	}
	if a, s := moduleComparison(t, report, "equipment"); a != s {
		t.Fatalf("equipment changed: %g to %g", a, s)
	}
	if a, s := moduleComparison(t, report, "professional_travel"); !closeTo(s-a, refTotal-actualTotal) {
		t.Fatalf("travel: %g to %g, want a difference of %g", a, s, refTotal-actualTotal)
	}
	actualObjective, scenarioObjective := report["actualObjective"].(map[string]any), report["scenarioObjective"].(map[string]any)
	if !closeTo(number(scenarioObjective["allowedKgCo2e"]), number(actualObjective["allowedKgCo2e"])) ||
		!closeTo(number(scenarioObjective["actualKgCo2e"]), refTotal) || !closeTo(number(report["targetAllowedKgCo2e"]), baseline*0.5) {
		t.Fatalf("objective: actual %v scenario %v target %v (baseline %g)", actualObjective, scenarioObjective, report["targetAllowedKgCo2e"], baseline)
	}
	if meets := report["scenarioMeetsTarget"].(bool); meets != (refTotal <= baseline*0.5) {
		t.Fatalf("meets the target: %v with %g against %g", meets, refTotal, baseline*0.5)
	}

	// The actual report is as it was.
	actualAfter := mustCall(t, 200, "GET", api+"/reports/"+lab+"?year=2025", "")
	for _, field := range []string{"total", "scope1", "scope2LocationBased", "scope3", "modules", "entries"} {
		if fmt.Sprint(actualAfter[field]) != fmt.Sprint(actualBefore[field]) {
			t.Fatalf("actual %s changed: %v, was %v", field, actualAfter[field], actualBefore[field])
		}
	}

	// CSV and the chart.
	status, contentType, csv := fetch(t, "member", "GET", reportURL+"?format=csv")
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if status != 200 || !strings.HasPrefix(contentType, "text/csv") || lines[0] != "metric,module,scope,detail,actual_kg_co2e,scenario_kg_co2e,difference_kg_co2e,difference_pct" ||
		!strings.HasPrefix(lines[1], "total,,,,") || !strings.Contains(string(csv), "module,professional_travel,") || !strings.Contains(string(csv), "objective_target_allowed") {
		t.Fatalf("csv: %d %s\n%s", status, contentType, csv)
	}
	status, contentType, svg := fetch(t, "member", "GET", reportURL+"?format=svg")
	for _, want := range []string{"<svg", "Actual 2025", "Scenario", "Allowed in 2025 by the objective", "Total", "Professional travel", "Trains under 1000 km"} {
		if status != 200 || contentType != "image/svg+xml" || !strings.Contains(string(svg), want) {
			t.Fatalf("svg (%d %s) lacks %q", status, contentType, want)
		}
	}

	// Rows: the freezer removed, then back; a row added; a bad edit refused.
	activities := mustCall(t, 200, "GET", api+"/labs/"+lab+"/activities?year=2025&kind=equipment", "")["activities"].([]any)
	freezer := activities[0].(map[string]any)["id"].(string)
	_, freezerKg := moduleComparison(t, report, "equipment")
	removed := callAs(t, "manager", 200, "DELETE", scenarios+"/"+id+"/rows/"+freezer, "")
	if !closeTo(number(removed["kgCo2e"]), refTotal-freezerKg) || removed["computedRows"] != "3" {
		t.Fatalf("without the freezer: %v kg, want %g", removed["kgCo2e"], refTotal-freezerKg)
	}
	status, answer := call(t, "manager", "PUT", scenarios+"/"+id+"/rows/"+freezer, `{"values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"500","active_power_w":"1000"}}`)
	if status != http.StatusBadRequest || !slices.Contains(violatedFields(answer), "row.values.active_hours_per_week") {
		t.Fatalf("an edit of 500 hours a week: %d %v", status, answer)
	}
	edited := callAs(t, "manager", 200, "PUT", scenarios+"/"+id+"/rows/"+freezer, `{"values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"50","active_power_w":"1000"}}`)
	if !closeTo(number(edited["kgCo2e"]), refTotal-freezerKg+kgOf(50, 1000)) {
		t.Fatalf("the freezer at 50 hours: %v kg, want %g", edited["kgCo2e"], refTotal-freezerKg+kgOf(50, 1000))
	}
	reset := callAs(t, "manager", 200, "POST", scenarios+"/"+id+"/rows/"+freezer+":reset", "")
	if !closeTo(number(reset["kgCo2e"]), refTotal) || len(reset["edits"].([]any)) != 0 {
		t.Fatalf("reset: %v", reset)
	}
	added := callAs(t, "manager", 200, "POST", scenarios+"/"+id+"/rows", `{"kind":"equipment","values":{"equipment_name":"Heat pump","category":"other","active_hours_per_week":"10","active_power_w":"1000"}}`)
	if !closeTo(number(added["kgCo2e"]), refTotal+kgOf(10, 1000)) || added["computedRows"] != "5" {
		t.Fatalf("a row added: %v", added)
	}
	addedID := added["edits"].([]any)[0].(map[string]any)["rowId"].(string)
	// Edits are bounded (SCENARIO_MAX_EDITS=2 here): a third row is
	// refused, the same row edited again is not one more.
	callAs(t, "manager", 200, "DELETE", scenarios+"/"+id+"/rows/"+freezer, "")
	if status, answer := call(t, "manager", "POST", scenarios+"/"+id+"/rows", `{"kind":"equipment","values":{"equipment_name":"Oven","category":"other","active_hours_per_week":"1","active_power_w":"100"}}`); status != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(answer["message"]), "as many as it may") {
		t.Fatalf("a third edited row: %d %v", status, answer)
	}
	callAs(t, "manager", 200, "PUT", scenarios+"/"+id+"/rows/"+freezer, `{"values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"50","active_power_w":"1000"}}`)
	callAs(t, "manager", 200, "POST", scenarios+"/"+id+"/rows/"+freezer+":reset", "")
	callAs(t, "manager", 200, "DELETE", scenarios+"/"+id+"/rows/"+addedID, "")

	// Another lab's scenario is not found, whoever asks.
	for _, url := range []string{api + "/labs/" + other + "/scenarios/" + id, api + "/reports/" + other + "/scenarios/" + id} {
		if status, _ := call(t, "admin", "GET", url, ""); status != http.StatusNotFound {
			t.Fatalf("GET %s: %d, want 404", url, status)
		}
	}
	if status, _ := call(t, "outsider", "GET", reportURL, ""); status != http.StatusNotFound && status != http.StatusForbidden {
		t.Fatalf("an outsider read the scenario: %d", status)
	}

	// Renamed (the rules kept), listed.
	got := callAs(t, "member", 200, "GET", scenarios+"/"+id, "")
	rules, err := json.Marshal(got["rules"])
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"name":"Rail first","rules":%s}`, rules)
	renamed := callAs(t, "manager", 200, "PUT", scenarios+"/"+id, body)
	if renamed["name"] != "Rail first" || !closeTo(number(renamed["kgCo2e"]), refTotal) {
		t.Fatalf("renamed: %v", renamed)
	}
	listed := callAs(t, "member", 200, "GET", scenarios+"?year=2025", "")["scenarios"].([]any)
	if len(listed) != 1 || listed[0].(map[string]any)["name"] != "Rail first" {
		t.Fatalf("listed: %v", listed)
	}

	// New factors for 2025 recompute the scenario as they recalculate the
	// actual data: the freezer's kWh at the new Swiss grid factor.
	factors := factorHeader + "grid,2026.2,electricity,electricity_grid,location,CH,2025,0.125,kWh,Operator's own figure for the Swiss mix 2025,CC-BY-4.0,AR6,life_cycle,,12\n"
	if status, answer := uploadFactors(t, sys, "admin", "dataset=grid&version=2026.2", factors); status != http.StatusAccepted {
		t.Fatalf("factor upload: %d %v", status, answer)
	}
	waitSynced(t, sys, "grid", "2026.2")
	mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2026.2:activate", `{"years":[2025]}`)
	recomputed := callAs(t, "member", 200, "GET", scenarios+"/"+id, "")
	freezerKWh := 100 * 1000 * 52 / 1000.0
	if recomputed["factorDataset"] != "grid" || !closeTo(number(recomputed["kgCo2e"]), refTotal-freezerKWh*0.097+freezerKWh*0.125) {
		t.Fatalf("after the activation: %v %v kg, want %g", recomputed["factorDataset"], recomputed["kgCo2e"], refTotal-freezerKWh*0.097+freezerKWh*0.125)
	}

	// Deleted: gone, and recorded.
	callAs(t, "manager", 200, "DELETE", scenarios+"/"+id, "")
	if status, _ := call(t, "manager", "GET", scenarios+"/"+id, ""); status != http.StatusNotFound {
		t.Fatalf("a deleted scenario: %d", status)
	}
	events, _ := auditPage(t, "admin", api+"/labs/"+lab+"/audit", url.Values{"resource_type": {"scenario"}})
	var actions []string
	for _, e := range events {
		actions = append(actions, e["action"].(string))
	}
	if n := len(actions); n < 8 || actions[0] != "delete" || actions[n-1] != "create" {
		t.Fatalf("scenario audit trail: %v", actions)
	}
}
