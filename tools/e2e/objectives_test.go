package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// equipmentEntry is a single equipment entry of year: hours a week at watts.
func equipmentEntry(year int, name string, hours, watts float64) string {
	return fmt.Sprintf(`{"year":%d,"kind":"equipment","values":{"equipment_name":%q,"category":"scientific","active_hours_per_week":"%g","active_power_w":"%g"}}`,
		year, name, hours, watts)
}

// totalOf is a lab's total of year, as its report says.
func totalOf(t *testing.T, api, lab string, year int) float64 {
	t.Helper()
	report := mustCall(t, 200, "GET", fmt.Sprintf("%s/reports/%s?year=%d", api, lab, year), "")
	return number(report["total"].(map[string]any)["kgCo2e"])
}

// progressOf finds year in an objective's trajectory.
func progressOf(t *testing.T, view map[string]any, year int) map[string]any {
	t.Helper()
	for _, y := range view["years"].([]any) {
		if progress := y.(map[string]any); int(number(progress["year"])) == year {
			return progress
		}
	}
	t.Fatalf("the trajectory has no year %d: %v", year, view["years"])
	return nil
}

// alertedLabs are the labs /alerts lists for year, as user.
func alertedLabs(t *testing.T, api, user string, year int) []string {
	t.Helper()
	answer := callAs(t, user, 200, "GET", fmt.Sprintf("%s/alerts?year=%d", api, year), "")
	var labs []string
	alerts, _ := answer["alerts"].([]any)
	for _, a := range alerts {
		labs = append(labs, a.(map[string]any)["labCode"].(string))
	}
	return labs
}

func TestObjectivesTrajectoriesAndAlerts(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"OBJ","name":"Objective lab","country":"CH"}`)["id"].(string)
	steady := mustCall(t, 200, "POST", api+"/labs", `{"code":"STEADY","name":"Steady lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+steady+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	// 2024, the baseline: a freezer all week. 2025: the same freezer and a
	// smaller device, over the trajectory (which asks for -8.3 %).
	for _, l := range []string{lab, steady} {
		mustCall(t, 200, "POST", api+"/labs/"+l+"/activities", equipmentEntry(2024, "Freezer", 168, 1000))
		mustCall(t, 200, "POST", api+"/labs/"+l+"/activities", equipmentEntry(2025, "Freezer", 100, 1000))
	}
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", equipmentEntry(2025, "Oven", 68, 1000))
	baseline := totalOf(t, api, lab, 2024)

	// Bad objectives: 400 naming the field, nothing stored.
	objective := api + "/labs/" + lab + "/objective"
	for _, c := range []struct{ name, body, field string }{
		{"a target before the baseline", `{"baselineYear":2024,"targetYear":2020,"reductionPct":50}`, "target_year"},
		{"a reduction over 100 %", `{"baselineYear":2024,"targetYear":2030,"reductionPct":150}`, "reduction_pct"},
		{"a negative reduction", `{"baselineYear":2024,"targetYear":2030,"reductionPct":-5}`, "reduction_pct"},
		{"a baseline year without data", `{"baselineYear":2019,"targetYear":2030,"reductionPct":50}`, "baseline_year"},
		{"a module the lab does not emit", `{"baselineYear":2024,"targetYear":2030,"reductionPct":50,"moduleReductions":{"professional_travel":60}}`, "module_reductions"},
		{"a scope 4", `{"baselineYear":2024,"targetYear":2030,"reductionPct":50,"scopeReductions":{"4":10}}`, "scope_reductions"},
		{"a milestone after the target", `{"baselineYear":2024,"targetYear":2030,"reductionPct":50,"milestones":{"2031":60}}`, "milestones"},
	} {
		status, answer := call(t, "manager", "PUT", objective, c.body)
		if status != 400 || !slices.Contains(violatedFields(answer), c.field) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, status, answer, c.field)
		}
	}
	if status, _ := call(t, "manager", "GET", objective, ""); status != 404 {
		t.Fatalf("a refused objective was stored: GET answers %d", status)
	}
	if status, _ := call(t, "member", "PUT", objective, `{"baselineYear":2024,"targetYear":2030,"reductionPct":50}`); status != 403 {
		t.Fatalf("a lab member set an objective: %d", status)
	}

	// -50 % by 2030 from 2024, set by the lab manager: every year between
	// is allowed its linear share.
	view := callAs(t, "manager", 200, "PUT", objective, `{"baselineYear":2024,"targetYear":2030,"reductionPct":50,"moduleReductions":{"equipment":40},"alertMarginPct":5}`)
	if got := number(view["baselineKgCo2e"]); !near(got, baseline) {
		t.Fatalf("baseline %v kg, want the 2024 report's %v", got, baseline)
	}
	for year := 2024; year <= 2030; year++ {
		want := baseline * (1 - 0.5*float64(year-2024)/6)
		if got := number(progressOf(t, view, year)["allowedKgCo2e"]); !near(got, want) {
			t.Errorf("%d: allowed %v kg, want %v", year, got, want)
		}
	}
	// 2025: over the trajectory by more than 5 %, flagged, with the gap.
	actual2025 := totalOf(t, api, lab, 2025)
	allowed2025 := baseline * (1 - 0.5/6)
	report := callAs(t, "member", 200, "GET", api+"/reports/"+lab+"?year=2025", "")
	progress, _ := report["objective"].(map[string]any)
	if progress == nil {
		t.Fatalf("the 2025 report shows no objective: %v", report)
	}
	if !near(number(progress["allowedKgCo2e"]), allowed2025) || !near(number(progress["actualKgCo2e"]), actual2025) ||
		!near(number(progress["gapKgCo2e"]), actual2025-allowed2025) || !near(number(progress["gapPct"]), (actual2025-allowed2025)/allowed2025*100) {
		t.Errorf("2025 against the objective: %v; want allowed %v, actual %v", progress, allowed2025, actual2025)
	}
	if progress["onTrack"] != false || progress["flagged"] != true || !strings.Contains(fmt.Sprint(progress["reasons"]), "over") {
		t.Errorf("2025 is over its trajectory but not flagged so: %v", progress)
	}
	modules, _ := progress["modules"].([]any)
	if len(modules) != 1 || modules[0].(map[string]any)["flagged"] != true {
		t.Errorf("the equipment objective (-40 %% by 2030) is over in 2025 but not flagged: %v", modules)
	}

	// The steady lab keeps to its own objective: not listed.
	callAs(t, "manager", 200, "PUT", api+"/labs/"+steady+"/objective", `{"baselineYear":2024,"targetYear":2030,"reductionPct":30}`)
	for _, user := range []string{"manager", "admin", "auditor"} {
		if got := alertedLabs(t, api, user, 2025); !slices.Equal(got, []string{"OBJ"}) {
			t.Errorf("alerts of 2025 as %s: %v, want [OBJ]", user, got)
		}
	}
	if status, _ := call(t, "member", "GET", api+"/alerts?year=2025", ""); status != 403 {
		t.Errorf("a lab member read the alerts: %d", status)
	}
	// The steady lab's data changes and crosses its threshold: the alert
	// appears at once, no recomputation asked for.
	mustCall(t, 200, "POST", api+"/labs/"+steady+"/activities", equipmentEntry(2025, "Incubator", 168, 1000))
	if got := alertedLabs(t, api, "manager", 2025); !slices.Equal(got, []string{"OBJ", "STEADY"}) && !slices.Equal(got, []string{"STEADY", "OBJ"}) {
		t.Errorf("after the steady lab's new device: alerts %v, want both labs", got)
	}

	// The years endpoint: each year with its progress, and the trajectory.
	years := callAs(t, "member", 200, "GET", api+"/reports/"+lab+"/years", "")
	for _, y := range years["years"].([]any) {
		year := y.(map[string]any)
		if year["objective"] == nil {
			t.Errorf("year %v shows no objective", year["year"])
		}
	}
	if trajectory, _ := years["objective"].(map[string]any); trajectory == nil || len(trajectory["years"].([]any)) != 7 {
		t.Errorf("the years' trajectory: %v, want 2024 to 2030", years["objective"])
	}
	status, contentType, svg := fetch(t, "member", "GET", api+"/reports/"+lab+"/years?format=svg&chart=trajectory")
	if status != 200 || contentType != "image/svg+xml" || !strings.Contains(string(svg), "Baseline 2024") || !strings.Contains(string(svg), "Target 2030") {
		t.Errorf("the trajectory chart: %d %s %.300s", status, contentType, svg)
	}
	if status, _ := call(t, "member", "GET", api+"/reports/"+steady+"/years?format=svg&chart=trajectory", ""); status != 404 {
		t.Errorf("a lab the member cannot see: %d", status)
	}

	// Milestones: -20 % by 2026, then linear to -50 % by 2030.
	view = callAs(t, "admin", 200, "PUT", objective, `{"baselineYear":2024,"targetYear":2030,"reductionPct":50,"milestones":{"2026":20}}`)
	for year, pct := range map[int]float64{2025: 10, 2026: 20, 2028: 35, 2030: 50} {
		if got := number(progressOf(t, view, year)["reductionPct"]); !near(got, pct) {
			t.Errorf("milestones: %d asks for %v %%, want %v", year, got, pct)
		}
	}

	// The institution view ranks labs by their gap, the furthest over first.
	ranking := mustCall(t, 200, "GET", api+"/reports?year=2025", "")
	place := map[string]float64{}
	for _, l := range ranking["labs"].([]any) {
		ranked := l.(map[string]any)
		place[ranked["labCode"].(string)] = number(ranked["rankByGap"])
	}
	steadyGap := (totalOf(t, api, steady, 2025) - totalOf(t, api, steady, 2024)*(1-0.3/6)) / (totalOf(t, api, steady, 2024) * (1 - 0.3/6))
	labGap := (actual2025 - baseline*(1-0.5/6)) / (baseline * (1 - 0.5/6))
	wantFirst := "OBJ"
	if steadyGap > labGap {
		wantFirst = "STEADY"
	}
	if place[wantFirst] != 1 || place["OBJ"]+place["STEADY"] != 3 {
		t.Errorf("rank by gap: %v, want %s first", place, wantFirst)
	}

	// The institution's objective: admins set it, auditors read it.
	if status, _ := call(t, "manager", "PUT", api+"/objective", `{"baselineYear":2024,"targetYear":2030,"reductionPct":40}`); status != 403 {
		t.Errorf("a lab manager set the institution's objective: %d", status)
	}
	mustCall(t, 200, "PUT", api+"/objective", `{"baselineYear":2024,"targetYear":2030,"reductionPct":40}`)
	institution := callAs(t, "auditor", 200, "GET", api+"/objective", "")
	both := totalOf(t, api, lab, 2024) + totalOf(t, api, steady, 2024)
	if got := number(progressOf(t, institution, 2027)["allowedKgCo2e"]); !near(got, both*(1-0.4*3/6)) {
		t.Errorf("the institution's 2027 allowance: %v, want %v", got, both*(1-0.4*3/6))
	}
	if ranking := mustCall(t, 200, "GET", api+"/reports?year=2025", ""); ranking["institution"] == nil {
		t.Errorf("the ranking does not show the institution's objective")
	}

	// Recorded like any change: the lab's trail has the objective's
	// creation and update, by whom.
	events, _ := auditPage(t, "admin", api+"/labs/"+lab+"/audit", url.Values{"resource_type": {"objective"}})
	var actions []string
	for _, e := range events {
		actions = append(actions, e["action"].(string))
	}
	if !slices.Equal(actions, []string{"update", "create"}) {
		t.Errorf("the objective's trail: %v, want update then create", actions)
	}
	// Removed: gone from the report and the alerts.
	mustCall(t, 200, "DELETE", objective, "")
	if report := mustCall(t, 200, "GET", api+"/reports/"+lab+"?year=2025", ""); report["objective"] != nil {
		t.Errorf("a removed objective still shows: %v", report["objective"])
	}
	if got := alertedLabs(t, api, "admin", 2025); slices.Contains(got, "OBJ") {
		t.Errorf("a lab without an objective is alerted: %v", got)
	}
}
