package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/tools/backup"
)

// A system with labs, an import with rejected rows, entries, a contract,
// an activated factor dataset and the recalculation it caused, and an
// export is backed up while it runs, restored into an empty database, and
// started again there: every answer is the same. An import still queued
// at the backup (its task only in Redis, which is not backed up) is
// finished by the restored system.
func TestBackupAndRestoreGiveTheSameSystem(t *testing.T) {
	ctx := context.Background()
	env := []string{"RECALC_DELAY=200ms", "POLL_INTERVAL=500ms", "EXPORT_REQUEUE_AFTER=1s"}
	before := startSystem(t, env...)
	api := before.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"BAK","name":"Backed-up lab","country":"CH"}`)["id"].(string)
	sub := mustCall(t, 200, "POST", api+"/labs", `{"code":"BAK-SUB","name":"Sub-lab","country":"CH","parentId":"`+lab+`"}`)["id"].(string)
	pending := mustCall(t, 200, "POST", api+"/labs", `{"code":"PENDING","name":"Lab with a queued import","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	_, answer := upload(t, before, "member", lab, "kind=equipment&year=2025&mode=replace",
		equipmentHeader+"Freezer,scientific,1,168,350,0,0\nPC,it,2,40,60,128,2\nBroken,it,1,40,many,0,0\n", false)
	imported := importID(t, answer)
	waitFinished(t, before, imported)
	entry := mustCall(t, 200, "POST", api+"/labs/"+sub+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"Microscope","category":"scientific","active_hours_per_week":"50","active_power_w":"800"}}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", `{"year":2025,"kind":"member","values":{"fte":"0.8"}}`)
	mustCall(t, 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody)
	status, answer := uploadFactors(t, before, "admin", "dataset=grid&version=2026.2&description=Grid+2025", factorHeader+
		"grid,2026.2,electricity,electricity_grid,location,CH,2025,0.125,kWh,Operator's figure,CC-BY-4.0,AR6,life_cycle,,12\n")
	if status != http.StatusAccepted {
		t.Fatalf("factor upload: %d %v", status, answer)
	}
	waitSynced(t, before, "grid", "2026.2")
	mustCall(t, 200, "POST", api+"/factor-datasets/grid/versions/2026.2:activate", `{"years":[2025]}`)
	waitFor(t, before, "recalculations asked and not done", 0, "SELECT count(*) FROM calc.recalc_requests WHERE done < requested")
	waitFor(t, before, "recalculations running", 0, "SELECT count(*) FROM calc.recalculations WHERE finished_at IS NULL")
	export := mustCall(t, 200, "POST", api+"/reports/"+lab+"/exports", `{"year":2025,"includeSublabs":true}`)["export"].(map[string]any)["id"].(string)
	waitFor(t, before, "export done", 1, "SELECT count(*) FROM reporting.exports WHERE status = 'done'")
	// Left queued: no calc worker runs when it is uploaded.
	before.stop(t, "calc")
	before.start(t, "calc", "WORKER_CONCURRENCY=0")
	_, answer = upload(t, before, "admin", pending, "kind=equipment&year=2024", equipmentHeader+"Oven,scientific,1,10,1000,0,0\n", false)
	queued := importID(t, answer)

	// What users read, as JSON (or the file's bytes), with nothing that
	// differs between two readings (the time a report was made).
	reads := []string{
		"/labs?page_size=500", "/labs/" + lab + "/members", "/me",
		"/reports/" + lab + "?year=2025", "/reports/" + lab + "?year=2025&include_sublabs=true", "/reports/" + lab + "/years",
		"/reports/" + lab + "?year=2025&format=csv", "/reports?year=2025&format=csv",
		"/imports/" + imported + "/status", "/imports/" + imported + "/errors", "/labs/" + lab + "/imports",
		"/labs/" + lab + "/activities?page_size=500", "/labs/" + sub + "/activities?page_size=500",
		"/labs/" + lab + "/electricity-contracts",
		"/factor-datasets", "/factor-datasets?year=2025", "/factor-datasets/grid/versions/2026.2",
		"/labs/" + lab + "/recalculations", "/labs/" + sub + "/recalculations", "/activities/" + entry + "/superseded-emissions",
		"/reports/" + lab + "/exports/" + export, "/reports/" + lab + "/exports/" + export + ":download",
	}
	read := func(sys *system) map[string]any {
		answers := map[string]any{}
		for _, path := range reads {
			status, contentType, raw := fetch(t, "admin", "GET", sys.Gateway+"/api/v1"+path)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, status, raw)
			}
			if !strings.HasPrefix(contentType, "application/json") {
				answers[path] = string(raw)
				continue
			}
			var decoded map[string]any
			if err := jsonUnmarshal(raw, &decoded); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			delete(decoded, "generatedAt")
			answers[path] = decoded
		}
		return answers
	}
	want := read(before)
	if want["/imports/"+imported+"/status"].(map[string]any)["result"] != "WARNING" ||
		len(want["/labs/"+lab+"/recalculations"].(map[string]any)["recalculations"].([]any)) == 0 ||
		len(want["/activities/"+entry+"/superseded-emissions"].(map[string]any)["emissions"].([]any)) == 0 {
		t.Fatalf("the system was not filled as meant: %v", want)
	}

	// Backed up while running; restored into an empty database.
	file := filepath.Join(t.TempDir(), "co2.dump")
	summary, err := backup.Create(ctx, before.DBURL, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup: %s", summary)
	before.stopAll(t)
	restored := emptyDatabase(t, before.DBURL)
	if _, err := backup.Restore(ctx, restored, file, false); err != nil {
		t.Fatal(err)
	}
	after := startSystemOn(t, restored, env...)
	got := read(after)
	for _, path := range reads {
		if !reflect.DeepEqual(got[path], want[path]) {
			t.Errorf("%s after the restore:\n%v\nbefore:\n%v", path, got[path], want[path])
		}
	}
	// Redis was not backed up, and the new system's queues are empty: the
	// queued import is found in PostgreSQL and run all the same.
	if done := waitFinished(t, after, queued); done["result"] != "SUCCESS" {
		t.Fatalf("the import queued at the backup: %v", done)
	}
}

// emptyDatabase creates an empty database beside the one dbURL names,
// dropped when the test ends, and returns its URL.
func emptyDatabase(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("co2restored_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	parsed, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}
