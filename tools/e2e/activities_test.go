package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestSingleEntriesMatchImportsAndKeepTotals(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	entryLab := mustCall(t, 200, "POST", api+"/labs", `{"code":"ENTRY","name":"Entry lab","country":"CH"}`)["id"].(string)
	importLab := mustCall(t, 200, "POST", api+"/labs", `{"code":"BULK","name":"Bulk lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+entryLab+"/members", `{"email":"member@example.com","role":"lab_member"}`)

	// The same freezer and flight, one entry at a time and by CSV.
	status, freezer := call(t, "member", "POST", api+"/labs/"+entryLab+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"168","active_power_w":"350"}}`)
	if status != http.StatusOK || freezer["source"] != "entry" || freezer["module"] != "equipment" {
		t.Fatalf("create: %d %v", status, freezer)
	}
	emissions, _ := freezer["emissions"].([]any)
	// Location-based, and market-based beside it: no contract declared and no
	// Swiss residual mix in the dataset, so the grid factor again, flagged.
	if len(emissions) != 2 || !near(emissions[0].(map[string]any)["kgCo2e"].(float64), 168*350*52/1000.0*0.097) ||
		emissions[1].(map[string]any)["variant"] != "market_based" || emissions[1].(map[string]any)["fallback"] != true {
		t.Fatalf("freezer emissions: %v", emissions)
	}
	mustCall(t, 200, "POST", api+"/labs/"+entryLab+"/activities",
		`{"year":2025,"kind":"plane","values":{"departure":"GVA","arrival":"LHR","trips":"2","round_trip":"yes"}}`)

	_, answer := upload(t, sys, "admin", importLab, "kind=equipment&year=2025", equipmentHeader+"Freezer,scientific,1,168,350,0,0\n", false)
	waitFinished(t, sys, importID(t, answer))
	_, answer = upload(t, sys, "admin", importLab, "kind=plane&year=2025", "departure,arrival,trips,round_trip\nGVA,LHR,2,yes\n", false)
	waitFinished(t, sys, importID(t, answer))

	for _, module := range []string{"equipment", "professional_travel"} {
		entry := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND module = $2 AND variant = ''", entryLab, module)
		bulk := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND module = $2 AND variant = ''", importLab, module)
		if entry == 0 || !near(entry, bulk) {
			t.Fatalf("%s: single entries %.10f kg, import %.10f kg", module, entry, bulk)
		}
	}

	// Replace recomputes, delete removes from the totals.
	id := freezer["id"].(string)
	replaced := mustCall(t, 200, "PUT", api+"/activities/"+id,
		`{"year":2025,"values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"84","active_power_w":"350"}}`)
	if got := replaced["emissions"].([]any)[0].(map[string]any)["kgCo2e"].(float64); !near(got, 84*350*52/1000.0*0.097) {
		t.Fatalf("replaced: %v", got)
	}
	if got := queryFloat(t, sys, "SELECT kg_co2e FROM calc.rollups WHERE lab_id = $1 AND module = 'equipment' AND variant = ''", entryLab); !near(got, 84*350*52/1000.0*0.097) {
		t.Fatalf("rollup after replace: %v", got)
	}
	mustCall(t, 200, "DELETE", api+"/activities/"+id, "")
	mustCall(t, 404, "DELETE", api+"/activities/"+id, "") // a repeated delete subtracts nothing twice
	mustCall(t, 404, "GET", api+"/activities/"+id, "")
	if got := queryFloat(t, sys, "SELECT coalesce(sum(kg_co2e), 0) FROM calc.rollups WHERE lab_id = $1 AND module = 'equipment' AND variant = ''", entryLab); got != 0 {
		t.Fatalf("rollup after delete: %v", got)
	}

	// Lists filter and page.
	list := mustCall(t, 200, "GET", api+"/labs/"+importLab+"/activities?page_size=1&source=csv", "")
	first, _ := list["activities"].([]any)
	token, _ := list["nextPageToken"].(string)
	second, _ := mustCall(t, 200, "GET", api+"/labs/"+importLab+"/activities?page_size=1&source=csv&page_token="+token, "")["activities"].([]any)
	if len(first) != 1 || len(second) != 1 || first[0].(map[string]any)["kind"] != "plane" || second[0].(map[string]any)["kind"] != "equipment" {
		t.Fatalf("pages %v / %v", first, second)
	}
	// An imported activity changes by importing again.
	csvID := second[0].(map[string]any)["id"].(string)
	status, refused := call(t, "admin", "PUT", api+"/activities/"+csvID, `{"year":2025,"values":{"equipment_name":"x"}}`)
	if status != http.StatusBadRequest || !strings.Contains(refused["message"].(string), "import") {
		t.Fatalf("replacing an imported activity: %d %v", status, refused)
	}
	if status, refused = call(t, "admin", "DELETE", api+"/activities/"+csvID, ""); status != http.StatusBadRequest {
		t.Fatalf("deleting an imported activity: %d %v", status, refused)
	}
}

func TestSingleEntryErrorsAndRoles(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"ROLES","name":"Lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	good := `{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","category":"it","active_hours_per_week":"40","active_power_w":"60"}}`
	cases := []struct {
		name, user, body string
		status           int
		says             string
	}{
		{"negative power", "member", `{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","category":"it","active_hours_per_week":"40","active_power_w":"-60"}}`, 400, "values.active_power_w"},
		{"hours over a week", "member", `{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","category":"it","active_hours_per_week":"169","active_power_w":"60"}}`, 400, "values.active_hours_per_week"},
		{"unknown column", "member", `{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","colour":"red"}}`, 400, "colour"},
		{"unknown kind", "member", `{"year":2025,"kind":"boat","values":{}}`, 400, "equipment, ferry, member, plane"},
		{"unknown airport", "member", `{"year":2025,"kind":"plane","values":{"departure":"XXX","arrival":"LHR"}}`, 400, "values.departure"},
		{"bad year", "member", `{"year":1800,"kind":"equipment","values":{}}`, 400, "year"},
		{"auditor", "auditor", good, 403, "adding activity data"},
		{"outsider", "outsider", good, 404, "no lab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := call(t, tc.user, "POST", api+"/labs/"+lab+"/activities", tc.body)
			if status != tc.status || !strings.Contains(answer["message"].(string)+strings.Join(violatedFields(answer), " "), tc.says) {
				t.Fatalf("%d %v, want %d with %q", status, answer, tc.status, tc.says)
			}
		})
	}
	created := mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", good)
	if status, _ := call(t, "auditor", "GET", api+"/activities/"+created["id"].(string), ""); status != http.StatusOK {
		t.Fatalf("auditor reading: %d", status)
	}
	if status, _ := call(t, "outsider", "GET", api+"/activities/"+created["id"].(string), ""); status != http.StatusNotFound {
		t.Fatalf("outsider reading: %d", status)
	}
	// Each attempt timed in calc's metrics: the refused ones and the one
	// written.
	for result, want := range map[string]float64{"ok": 1, "error": float64(len(cases))} {
		if got := metricSum(t, sys, "calc", "calc_entry_duration_seconds_count", `operation="create"`, `result="`+result+`"`); got != want {
			t.Errorf("calc_entry_duration_seconds_count{operation=create,result=%s}: %v, want %v", result, got, want)
		}
	}
}

func TestConcurrentEntriesKeepExactTotals(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_WRITE=100000/1m")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"CONC","name":"Lab","country":"CH"}`)["id"].(string)
	const clients = 24
	errs := make(chan error, clients)
	for i := range clients {
		go func() {
			body := fmt.Sprintf(`{"year":2025,"kind":"equipment","values":{"equipment_name":"PC %d","category":"it","active_hours_per_week":"%d","active_power_w":"60"}}`, i, 10+i)
			request, _ := http.NewRequest(http.MethodPost, api+"/labs/"+lab+"/activities", strings.NewReader(body))
			request.Header.Set("Authorization", "Bearer "+tokens["admin"])
			response, err := http.DefaultClient.Do(request)
			if err == nil {
				response.Body.Close()
				if response.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", response.StatusCode)
				}
			}
			errs <- err
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	byHand := 0.0
	for i := range clients {
		byHand += float64(10+i) * 60 * 52 / 1000 * 0.097
	}
	if got := queryFloat(t, sys, "SELECT kg_co2e FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab); !near(got, byHand) {
		t.Fatalf("rollup %.10f, by hand %.10f", got, byHand)
	}
	if got := queryFloat(t, sys, "SELECT entries FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab); got != clients {
		t.Fatalf("%v entries", got)
	}
}
