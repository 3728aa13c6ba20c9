package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Every kind of every module, by CSV into one lab and one entry at a time
// into another: the same numbers per module, scope and variant, each
// emission naming its factor (or flagged as having none).
func TestEveryModuleGivesTheSameNumbersByCSVAndByEntry(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_UPLOAD=1000/1m")
	api := sys.Gateway + "/api/v1"
	bulk := mustCall(t, 200, "POST", api+"/labs", `{"code":"MOD-CSV","name":"Bulk","country":"GB"}`)["id"].(string)
	single := mustCall(t, 200, "POST", api+"/labs", `{"code":"MOD-ONE","name":"Single","country":"GB"}`)["id"].(string)
	templates, _ := mustCall(t, 200, "GET", api+"/templates", "")["templates"].([]any)
	modules := map[string]bool{}
	for _, listed := range templates {
		kind := listed.(map[string]any)["kind"].(string)
		template := mustCall(t, 200, "GET", api+"/templates/"+kind, "")
		modules[template["module"].(string)] = true
		status, answer := upload(t, sys, "admin", bulk, "kind="+kind+"&year=2024", template["csv"].(string), false)
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %v", kind, status, answer)
		}
		if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
			t.Fatalf("%s: %v", kind, done)
		}
		records, err := csv.NewReader(strings.NewReader(template["csv"].(string))).ReadAll()
		if err != nil || len(records) != 2 {
			t.Fatalf("%s template: %v %v", kind, records, err)
		}
		values := map[string]string{}
		for i, name := range records[0] {
			values[name] = records[1][i]
		}
		body, _ := json.Marshal(map[string]any{"year": 2024, "kind": kind, "values": values})
		entry := mustCall(t, 200, "POST", api+"/labs/"+single+"/activities", string(body))
		for _, e := range entry["emissions"].([]any) {
			emission := e.(map[string]any)
			if emission["scope"] != 0.0 && emission["factorId"] == nil && emission["overridden"] != true && kind != "research_facilities" {
				t.Errorf("%s: an emission without its factor: %v", kind, emission)
			}
		}
	}
	if len(modules) != 9 {
		t.Fatalf("modules %v, want the nine", modules)
	}
	totals := `SELECT module || '/' || scope || '/' || variant, sum(kg_co2e), sum(quantity) FROM calc.rollups WHERE lab_id = $1 GROUP BY 1 ORDER BY 1`
	byCSV, byEntry := queryTotals(t, sys, totals, bulk), queryTotals(t, sys, totals, single)
	if len(byCSV) < 10 || fmt.Sprint(byCSV) != fmt.Sprint(byEntry) {
		t.Fatalf("by CSV %v\nby entry %v", byCSV, byEntry)
	}
	// Headcount is a measure: FTE in scope 0, nothing emitted.
	if got := byCSV["headcount/0/"]; got[0] != 0 || !near(got[1], 0.8+0.8) {
		t.Fatalf("headcount %v", got)
	}
}

func queryTotals(t *testing.T, sys *system, sql string, lab string) map[string][2]float64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), sql, lab)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	totals := map[string][2]float64{}
	for rows.Next() {
		var key string
		var kg, quantity float64
		if err := rows.Scan(&key, &kg, &quantity); err != nil {
			t.Fatal(err)
		}
		// Rounded to a milligram: sums of the same figures in another order.
		totals[key] = [2]float64{math.Round(kg*1e6) / 1e6, math.Round(quantity*1e6) / 1e6}
	}
	return totals
}

// Market-based scope 2 takes the lab's declared contract; location-based
// stays on the grid average.
func TestMarketBasedScope2UsesTheLabsContract(t *testing.T) {
	sys := startSystem(t, "RECALC_DELAY=100ms")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"GREEN","name":"Green lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)

	status, answer := call(t, "manager", "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", `{"supplier":"Hydro SA","kgCo2ePerKwh":-1,"source":"x"}`)
	if status != http.StatusBadRequest || !contains(violatedFields(answer), "contract.kg_co2e_per_kwh") {
		t.Fatalf("a negative factor: %d %v", status, answer)
	}
	if status, _ := call(t, "member", "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody); status != http.StatusForbidden {
		t.Fatalf("a member declares a contract: %d", status)
	}
	contract := callAs(t, "manager", 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody)
	if contract["supplier"] != "Hydro SA" || contract["year"] != 2025.0 || contract["updatedBy"] == "" {
		t.Fatalf("contract %v", contract)
	}

	entry := callAs(t, "member", 200, "POST", api+"/labs/"+lab+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"Server","category":"it","active_hours_per_week":"100","active_power_w":"500"}}`)
	kWh := 100 * 500 * 52 / 1000.0
	emissions := entry["emissions"].([]any)
	location, market := emissions[0].(map[string]any), emissions[1].(map[string]any)
	if !near(location["kgCo2e"].(float64), kWh*0.097) || !near(market["kgCo2e"].(float64), kWh*0.012) ||
		market["variant"] != "market_based" || market["factorDataset"] != "lab_contract" || market["fallback"] == true {
		t.Fatalf("location %v\nmarket %v", location, market)
	}
	scope2 := func(variant string) float64 {
		return queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND scope = 2 AND variant = $2", lab, variant)
	}
	if !near(scope2(""), kWh*0.097) || !near(scope2("market_based"), kWh*0.012) {
		t.Fatalf("rollups: location %v, market %v", scope2(""), scope2("market_based"))
	}

	// Withdrawn: the entries of the year are recalculated by themselves,
	// market-based on the grid average again (Switzerland has no residual
	// mix in the bundled dataset).
	callAs(t, "manager", 200, "DELETE", api+"/labs/"+lab+"/electricity-contracts/2025", "")
	if status, _ := call(t, "member", "GET", api+"/labs/"+lab+"/electricity-contracts/2025", ""); status != http.StatusNotFound {
		t.Fatalf("a withdrawn contract: %d", status)
	}
	const marketBased = "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND scope = 2 AND variant = 'market_based'"
	waitFor(t, sys, "market-based without a contract", kWh*0.097, marketBased, lab)
	// Declared again, at another figure: recalculated again.
	callAs(t, "manager", 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", `{"supplier":"Wind AG","kgCo2ePerKwh":0.02,"source":"Supplier disclosure 2025"}`)
	waitFor(t, sys, "market-based with the new contract", kWh*0.02, marketBased, lab)
	if got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND scope = 2 AND variant = ''", lab); !near(got, kWh*0.097) {
		t.Fatalf("location-based moved with the contract: %v", got)
	}
}

func callAs(t *testing.T, user string, want int, method, url, body string) map[string]any {
	t.Helper()
	status, answer := call(t, user, method, url, body)
	if status != want {
		t.Fatalf("%s %s as %s: %d %v", method, url, user, status, answer)
	}
	return answer
}

func contains(list []string, value string) bool {
	for _, item := range list {
		if item == value {
			return true
		}
	}
	return false
}
