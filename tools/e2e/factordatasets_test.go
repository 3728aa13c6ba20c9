package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const factorHeader = "dataset,version,kind,emission_type,classification,region,year,value,unit,source,licence,gwp_set,boundary,radiative_forcing,uncertainty_pct\n"

// uploadFactors posts a factor dataset CSV as user.
func uploadFactors(t *testing.T, sys *system, user, query, csv string) (int, map[string]any) {
	t.Helper()
	request, _ := http.NewRequest(http.MethodPost, sys.Gateway+"/api/v1/factor-datasets?"+query, strings.NewReader(csv))
	request.Header.Set("Content-Type", "text/csv")
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	answer := map[string]any{}
	raw, _ := io.ReadAll(response.Body)
	_ = jsonUnmarshal(raw, &answer)
	if response.StatusCode == http.StatusAccepted && response.Header.Get("Location") != answer["statusUrl"] {
		t.Fatalf("202 with Location %q, status URL %v", response.Header.Get("Location"), answer["statusUrl"])
	}
	return response.StatusCode, answer
}

// waitSynced polls a dataset version until its sync job has ended.
func waitSynced(t *testing.T, sys *system, dataset, version string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		answer := mustCall(t, 200, "GET", fmt.Sprintf("%s/api/v1/factor-datasets/%s/versions/%s", sys.Gateway, dataset, version), "")
		if answer["state"] == "FINISHED" || answer["state"] == "FAILED" {
			return answer
		}
		if time.Now().After(deadline) {
			t.Fatalf("factor dataset %s %s not synced: %v", dataset, version, answer)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls a number in the database until it is want.
func waitFor(t *testing.T, sys *system, what string, want float64, sql string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := queryFloat(t, sys, sql, args...)
		if near(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %.10f, want %.10f", what, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAFactorVersionChangeRecalculatesByItself(t *testing.T) {
	sys := startSystem(t, "RECALC_DELAY=1s")
	api := sys.Gateway + "/api/v1"
	swiss := mustCall(t, 200, "POST", api+"/labs", `{"code":"FDS-CH","name":"Swiss lab","country":"CH"}`)["id"].(string)
	british := mustCall(t, 200, "POST", api+"/labs", `{"code":"FDS-GB","name":"British lab","country":"GB"}`)["id"].(string)

	// A freezer entered by hand in Switzerland; PCs imported in Britain.
	freezer := mustCall(t, 200, "POST", api+"/labs/"+swiss+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"168","active_power_w":"350"}}`)
	freezerKWh := 168 * 350 * 52 / 1000.0
	status, answer := upload(t, sys, "admin", british, "kind=equipment&year=2025", equipmentHeader+"Desktop PC,it,10,40,60,128,2\n", false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	waitFinished(t, sys, importID(t, answer))
	pcsKWh := 10 * (40*60 + 128*2) * 52 / 1000.0
	const equipmentRollup = "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND year = 2025 AND module = 'equipment' AND variant = ''"
	waitFor(t, sys, "Swiss total before", freezerKWh*0.097, equipmentRollup, swiss)
	waitFor(t, sys, "British total before", pcsKWh*0.20707, equipmentRollup, british) // DESNZ 2023, the latest before 2025

	// A dataset with new Swiss and British grid factors.
	csv := factorHeader +
		"grid,2026.2,electricity,electricity_grid,location,CH,2025,0.125,kWh,Operator's own figure for the Swiss mix 2025,CC-BY-4.0,AR6,life_cycle,,12\n" +
		"grid,2026.2,electricity,electricity_grid,location,GB,2025,0.2,kWh,Operator's own figure for the UK grid 2025,OGL-UK-3.0,AR6,combustion,,8\n"
	status, answer = uploadFactors(t, sys, "admin", "dataset=grid&version=2026.2&description=Grid+2025", csv)
	if status != http.StatusAccepted || answer["statusUrl"] != "/api/v1/factor-datasets/grid/versions/2026.2" {
		t.Fatalf("factor upload: %d %v", status, answer)
	}
	synced := waitSynced(t, sys, "grid", "2026.2")
	if synced["state"] != "FINISHED" || synced["factors"] != "2" || synced["rowsTotal"] != "2" || len(synced["fileSha256"].(string)) != 64 {
		t.Fatalf("sync: %v", synced)
	}
	// Uploaded is not active: nothing changed yet.
	if got := queryFloat(t, sys, equipmentRollup, swiss); !near(got, freezerKWh*0.097) {
		t.Fatalf("Swiss total changed before any activation: %v", got)
	}
	before := mustCall(t, 200, "GET", api+"/factor-datasets?year=2025", "")
	if note := before["inForce"].(map[string]any)["note"]; note != "active: default 2026.2 (bundled, no activation)" {
		t.Fatalf("in force before: %v", note)
	}

	// Activated for 2025: one recalculation per lab/year/kind with activities.
	activated := mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2026.2:activate", `{"years":[2025]}`)
	if activated["recalculationsQueued"] != "2" {
		t.Fatalf("activation: %v", activated)
	}
	// The totals change by themselves, to the hand-computed figures.
	waitFor(t, sys, "Swiss total after", freezerKWh*0.125, equipmentRollup, swiss)
	waitFor(t, sys, "British total after", pcsKWh*0.2, equipmentRollup, british)
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.rollups WHERE lab_id = $1 AND factor_dataset = 'default' AND factor_version = '2026.2'", swiss); got != 0 {
		t.Fatalf("rollups of the old version left: %v", got)
	}

	// Which version computes which year.
	after := mustCall(t, 200, "GET", api+"/factor-datasets?year=2025", "")
	if in := after["inForce"].(map[string]any); in["dataset"] != "grid" || in["version"] != "2026.2" || in["note"] != "active: grid 2026.2 (activated)" {
		t.Fatalf("in force after: %v", in)
	}
	if note := mustCall(t, 200, "GET", api+"/factor-datasets?year=2024", "")["inForce"].(map[string]any)["note"]; note != "active: default 2026.2 (bundled, no activation)" {
		t.Fatalf("2024: %v", note)
	}
	for _, raw := range after["datasets"].([]any) {
		dataset := raw.(map[string]any)
		if dataset["dataset"] == "grid" && (fmt.Sprint(dataset["activeYears"]) != "[2025]" || dataset["active"] != true) {
			t.Fatalf("grid: %v", dataset)
		}
	}
	if activations := after["activations"].([]any); len(activations) != 1 || activations[0].(map[string]any)["activatedBy"] == "" {
		t.Fatalf("activations: %v", activations)
	}

	// The entry now names the new factor; the old emission is still readable.
	activity := mustCall(t, 200, "GET", api+"/activities/"+freezer["id"].(string), "")
	if emission := activity["emissions"].([]any)[0].(map[string]any); emission["factorVersion"] != "2026.2" || !near(emission["kgCo2e"].(float64), freezerKWh*0.125) {
		t.Fatalf("recalculated emission: %v", emission)
	}
	superseded := mustCall(t, 200, "GET", api+"/activities/"+freezer["id"].(string)+"/superseded-emissions", "")["emissions"].([]any)
	if len(superseded) != 2 || superseded[1].(map[string]any)["variant"] != "market_based" { // location- and market-based
		t.Fatalf("superseded: %v", superseded)
	}
	if old := superseded[0].(map[string]any); old["factorDataset"] != "default" || old["factorVersion"] != "2026.2" || !near(old["kgCo2e"].(float64), freezerKWh*0.097) {
		t.Fatalf("superseded emission: %v", old)
	}
	recalculations := mustCall(t, 200, "GET", api+"/labs/"+swiss+"/recalculations?year=2025", "")["recalculations"].([]any)
	if len(recalculations) != 1 {
		t.Fatalf("recalculations: %v", recalculations)
	}
	recalc := recalculations[0].(map[string]any)
	if fmt.Sprint(recalc["fromVersions"]) != "[default 2026.2]" || recalc["toDataset"] != "grid" || recalc["toVersion"] != "2026.2" ||
		recalc["state"] != "FINISHED" || recalc["activities"] != "1" || !near(recalc["kgBefore"].(float64), freezerKWh*0.097) || !near(recalc["kgAfter"].(float64), freezerKWh*0.125) {
		t.Fatalf("recalculation: %v", recalc)
	}

	// A burst of five activations queues one recalculation per target.
	for range 5 {
		mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2026.2:activate", `{"years":[2025]}`)
	}
	waitFor(t, sys, "asks unanswered", 0, "SELECT count(*) FROM calc.recalc_requests WHERE done < requested")
	for _, lab := range []string{swiss, british} {
		if got := queryFloat(t, sys, "SELECT count(*) FROM calc.recalculations WHERE lab_id = $1", lab); got != 2 {
			t.Fatalf("recalculations of lab %s after the burst: %v, want 2 (one before, one for the burst)", lab, got)
		}
	}
	if got := queryFloat(t, sys, equipmentRollup, swiss); !near(got, freezerKWh*0.125) {
		t.Fatalf("Swiss total after the burst: %v", got)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1 AND variant = ''", swiss); got != 1 {
		t.Fatalf("Swiss emissions after the burst: %v", got)
	}
	// The four recalculations, timed in calc's metrics.
	if got := metricSum(t, sys, "calc", "calc_recalc_duration_seconds_count", `kind="equipment"`, `state="FINISHED"`); got != 4 {
		t.Fatalf("calc_recalc_duration_seconds_count{kind=equipment,state=FINISHED}: %v, want 4", got)
	}

	// Back to the bundled version for 2025: the old figures return.
	mustCall(t, 200, "POST", api+"/factor-datasets/default/versions/2026.2:activate", `{"years":[2025]}`)
	waitFor(t, sys, "British total back", pcsKWh*0.20707, equipmentRollup, british)
}

func TestFactorUploadsAreCheckedAndAdminsOnly(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"FDS-ERR","name":"Lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	row := "bad,1,electricity,electricity_grid,location,CH,2025,0.1,kWh,test,CC0,AR6,combustion,,10\n"

	// A wrong header: 400 naming what is wrong, nothing stored.
	status, answer := uploadFactors(t, sys, "admin", "dataset=bad&version=1", strings.Replace(factorHeader, "licence", "license", 1)+row)
	if status != http.StatusBadRequest || !strings.Contains(answer["message"].(string), `missing licence, unknown "license"`) {
		t.Fatalf("bad header: %d %v", status, answer)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.factor_dataset_versions WHERE dataset = 'bad'"); got != 0 {
		t.Fatalf("a refused upload stored %v versions", got)
	}
	status, _ = call(t, "admin", "GET", api+"/factor-datasets/bad/versions/1", "")
	if status != http.StatusNotFound {
		t.Fatalf("refused version: %d", status)
	}

	// Bad rows: the job reports line and column, and loads nothing.
	csv := factorHeader + row +
		"bad,1,electricity,electricity_grid,location,GB,2025,lots,kWh,test,CC0,AR6,combustion,,10\n" +
		"bad,1,electricity,electricity_grid,location,FR,2025,0.05,kWh,test,CC0,AR6,sideways,,10\n"
	status, answer = uploadFactors(t, sys, "admin", "dataset=bad&version=1", csv)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	failed := waitSynced(t, sys, "bad", "1")
	errors, _ := failed["errors"].([]any)
	if failed["state"] != "FAILED" || failed["factors"] != "0" || failed["rowsRejected"] != "2" || len(errors) != 2 {
		t.Fatalf("bad rows: %v", failed)
	}
	first, second := errors[0].(map[string]any), errors[1].(map[string]any)
	if first["line"] != "3" || first["column"] != "value" || second["line"] != "4" || second["column"] != "boundary" {
		t.Fatalf("row errors: %v", errors)
	}
	// A failed version cannot be activated; an unknown one is not found.
	if status, answer = call(t, "admin", "POST", api+"/factor-datasets/bad/versions/1:activate", `{"years":[2025]}`); status != http.StatusBadRequest {
		t.Fatalf("activate a failed version: %d %v", status, answer)
	}
	if status, _ = call(t, "admin", "POST", api+"/factor-datasets/bad/versions/9:activate", `{"years":[2025]}`); status != http.StatusNotFound {
		t.Fatalf("activate an unknown version: %d", status)
	}
	// The same version twice: 409.
	if status, answer = uploadFactors(t, sys, "admin", "dataset=bad&version=1", factorHeader+row); status != http.StatusConflict {
		t.Fatalf("the same version again: %d %v", status, answer)
	}

	// A lab member reads, but neither uploads nor activates.
	if status, _ = call(t, "member", "GET", api+"/factor-datasets", ""); status != http.StatusOK {
		t.Fatalf("member reads: %d", status)
	}
	if status, answer = uploadFactors(t, sys, "member", "dataset=mine&version=1", factorHeader+row); status != http.StatusForbidden {
		t.Fatalf("member uploads: %d %v", status, answer)
	}
	if status, _ = call(t, "member", "POST", api+"/factor-datasets/default/versions/2026.2:activate", `{"years":[2025]}`); status != http.StatusForbidden {
		t.Fatalf("member activates: %d", status)
	}
}
