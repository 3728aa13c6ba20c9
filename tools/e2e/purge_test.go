package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
)

// rowsMentioning counts, per column of every table of the services'
// schemas that can hold a lab id (uuid, uuid[], text, json), the rows
// whose value contains id; columns without one are left out.
func rowsMentioning(t *testing.T, sys *system, id string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT c.table_schema, c.table_name, c.column_name
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema IN ('labs', 'ingest', 'calc', 'reporting')
		  AND c.udt_name IN ('uuid', '_uuid', 'text', 'json', 'jsonb')
		ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([3]string, error) {
		var column [3]string
		return column, row.Scan(&column[0], &column[1], &column[2])
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(columns) < 20 {
		t.Fatalf("only %d columns to search: the schemas are not there", len(columns))
	}
	found := map[string]int64{}
	for _, column := range columns {
		var n int64
		query := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s::text LIKE '%%' || $1 || '%%'`,
			pgx.Identifier{column[0], column[1]}.Sanitize(), pgx.Identifier{column[2]}.Sanitize())
		if err := conn.QueryRow(ctx, query, id).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if n > 0 {
			found[strings.Join(column[:], ".")] = n
		}
	}
	return found
}

func TestAPurgedLabLeavesNoRowInAnyService(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_UPLOAD=1000/1m")
	api := sys.Gateway + "/api/v1"
	create := func(code, parent string) string {
		return mustCall(t, 200, "POST", api+"/labs", fmt.Sprintf(`{"code":%q,"name":"%s lab","country":"CH","parentId":%q}`, code, code, parent))["id"].(string)
	}
	parent := create("PURGE-PARENT", "")
	lab := create("PURGE-LAB", parent)
	other := create("PURGE-OTHER", "")
	// Data of every kind, in the lab and in another lab.
	for i, id := range []string{lab, other} {
		mustCall(t, 200, "POST", api+"/labs/"+id+"/members", `{"email":"member@example.com","role":"lab_member"}`)
		mustCall(t, 200, "POST", api+"/labs/"+id+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
		status, answer := upload(t, sys, "admin", id, "kind=equipment&year=2025", equipmentHeader+fmt.Sprintf("PC %d,it,1,40,60,0,0\n", i), false)
		if status != http.StatusAccepted {
			t.Fatalf("upload: %d %v", status, answer)
		}
		if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
			t.Fatalf("import: %v", done)
		}
		mustCall(t, 200, "POST", api+"/labs/"+id+"/activities", entryBody)
		// A contract asks a recalculation of the lab's year.
		mustCall(t, 200, "PUT", api+"/labs/"+id+"/electricity-contracts/2025", contractBody)
		mustCall(t, 200, "PUT", api+"/labs/"+id+"/objective", objectiveBody)
		mustCall(t, 200, "POST", api+"/labs/"+id+"/scenarios", `{"year":2025,"name":"Fewer hours","rules":[{"kind":"equipment","scale":{"active_hours_per_week":0.5}}]}`)
		export := mustCall(t, 200, "POST", api+"/reports/"+id+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
		waitExport(t, sys, id, export, 60*time.Second, "done")
	}
	// The parent's export holds the lab's data too.
	parentExport := mustCall(t, 200, "POST", api+"/reports/"+parent+"/exports", `{"year":2025,"includeSublabs":true}`)["export"].(map[string]any)["id"].(string)
	waitExport(t, sys, parent, parentExport, 60*time.Second, "done")
	for _, id := range []string{lab, other} {
		waitUntil(t, 60*time.Second, "the contract's recalculation", func() bool {
			return queryFloat(t, sys, "SELECT count(*) FROM calc.recalc_requests WHERE lab_id = $1 AND done < requested", id) == 0 &&
				queryFloat(t, sys, "SELECT count(*) FROM calc.recalculations WHERE lab_id = $1", id) > 0
		})
	}

	before := rowsMentioning(t, sys, lab)
	for _, table := range []string{"labs.labs.id", "labs.memberships.lab_id", "ingest.data_ingestion_jobs.lab_id", "calc.activities.lab_id",
		"calc.emissions.lab_id", "calc.rollups.lab_id", "calc.electricity_contracts.lab_id", "calc.recalculations.lab_id", "reporting.exports.lab_id", "reporting.exports.lab_ids",
		"reporting.objectives.lab_id", "calc.scenarios.lab_id", "labs.audit_events.lab_id", "ingest.audit_events.lab_id", "calc.audit_events.lab_id", "reporting.audit_events.lab_id"} {
		if before[table] == 0 {
			t.Fatalf("no row of %s holds the lab before the purge: %v", table, before)
		}
	}
	otherBefore := rowsMentioning(t, sys, other)

	// Only admins purge; a lab with a sub-lab is refused.
	for user, want := range map[string]int{"manager": http.StatusForbidden, "member": http.StatusForbidden, "outsider": http.StatusNotFound} {
		if status, answer := call(t, user, "DELETE", api+"/labs/"+lab+"?purge=true", ""); status != want {
			t.Fatalf("%s purges: %d %v, want %d", user, status, answer, want)
		}
	}
	if refused := mustCall(t, 400, "DELETE", api+"/labs/"+parent+"?purge=true", ""); !strings.Contains(refused["message"].(string), "sub-lab") {
		t.Fatalf("purging a parent: %v", refused)
	}

	// calc is down, and an import of the lab waits in the queue: the purge
	// answers 503, and the lab is gone from sight already.
	sys.stop(t, "calc")
	status, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2024", equipmentHeader+"PC,it,1,40,60,0,0\n", false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	if status, answer := call(t, "admin", "DELETE", api+"/labs/"+lab+"?purge=true", ""); status != http.StatusServiceUnavailable ||
		!strings.Contains(answer["message"].(string), "calc") || !strings.Contains(answer["message"].(string), "repeat") {
		t.Fatalf("purge with calc down: %d %v", status, answer)
	}
	mustCall(t, 404, "GET", api+"/labs/"+lab, "")
	if status, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2023", equipmentHeader+"PC,it,1,40,60,0,0\n", false); status != http.StatusNotFound {
		t.Fatalf("an admin's upload into a lab being purged: %d %v", status, answer)
	}

	// calc is back: writers refuse the lab being purged (its member's role
	// no longer counts; labs no longer knows the lab).
	sys.start(t, "calc")
	for _, user := range []string{"member", "admin"} {
		if status, answer := call(t, user, "POST", api+"/labs/"+lab+"/activities", entryBody); status != http.StatusNotFound {
			t.Fatalf("an entry by %s into a lab being purged: %d %v", user, status, answer)
		}
	}

	// Repeated: done.
	if purged := mustCall(t, 200, "DELETE", api+"/labs/"+lab+"?purge=true", ""); purged["id"] != lab {
		t.Fatalf("purged %v", purged)
	}
	// What stays of the lab is in the audit trails alone: the record of its
	// purge in labs', and other labs' records that name it (the parent's
	// export of its sub-labs); its own trail went with its data.
	for column := range rowsMentioning(t, sys, lab) {
		if !strings.Contains(column, ".audit_events.") {
			t.Fatalf("rows still mention the purged lab: %v", rowsMentioning(t, sys, lab))
		}
	}
	for _, schema := range []string{"labs", "ingest", "calc", "reporting"} {
		if n := queryFloat(t, sys, "SELECT count(*) FROM "+schema+".audit_events WHERE lab_id = $1 AND action <> 'purge'", lab); n != 0 {
			t.Fatalf("%s keeps %v records of the purged lab's trail", schema, n)
		}
	}
	if n := queryFloat(t, sys, "SELECT count(*) FROM labs.audit_events WHERE lab_id = $1 AND action = 'purge' AND actor_email = 'admin@example.com'", lab); n != 1 {
		t.Fatalf("the purge is recorded %v times in labs' trail, want once, by the admin", n)
	}
	if after := rowsMentioning(t, sys, other); !maps.Equal(after, otherBefore) {
		t.Fatalf("another lab's rows changed: before %v, after %v", otherBefore, after)
	}
	// The parent keeps its row and can be purged now; the purged lab, again,
	// is not found.
	mustCall(t, 404, "DELETE", api+"/labs/"+lab+"?purge=true", "")
	mustCall(t, 200, "GET", api+"/labs/"+parent, "")
}

// The LabPurgeService of ingest, calc and reporting answers the labs
// service's identity alone: not another service's, not an admin's, and
// the gateway does not route it.
func TestOnlyTheLabsIdentityPurgesLabData(t *testing.T) {
	sys := startSystem(t)
	ctx := context.Background()
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"KEEP","name":"Kept lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "PUT", sys.Gateway+"/api/v1/labs/"+lab+"/electricity-contracts/2025", contractBody)
	asAdmin := connect.WithInterceptors(authn.ClientInterceptor(authn.Static(tokens["admin"])))
	callers := map[string]connect.ClientOption{
		"labs": asServiceAccount(t, "labs"), "calc": asServiceAccount(t, "calc"), "reporting": asServiceAccount(t, "reporting"), "admin": asAdmin,
	}
	purges := map[string]func(connect.ClientOption, string) error{
		"ingest": func(as connect.ClientOption, labID string) error {
			_, err := ingestv1connect.NewLabPurgeServiceClient(rpcclient.HTTPClient(), "http://"+sys.addrs["ingest"], as).
				PurgeLabData(ctx, connect.NewRequest(&ingestv1.PurgeLabDataRequest{LabId: labID}))
			return err
		},
		"calc": func(as connect.ClientOption, labID string) error {
			_, err := calcv1connect.NewLabPurgeServiceClient(rpcclient.HTTPClient(), "http://"+sys.addrs["calc"], as).
				PurgeLabData(ctx, connect.NewRequest(&calcv1.PurgeLabDataRequest{LabId: labID}))
			return err
		},
		"reporting": func(as connect.ClientOption, labID string) error {
			_, err := reportingv1connect.NewLabPurgeServiceClient(rpcclient.HTTPClient(), "http://"+sys.addrs["reporting"], as).
				PurgeLabData(ctx, connect.NewRequest(&reportingv1.PurgeLabDataRequest{LabId: labID}))
			return err
		},
	}
	for service, purge := range purges {
		for caller, as := range callers {
			err := purge(as, lab)
			if caller == "labs" {
				if err != nil {
					t.Errorf("labs asking %s to purge: %v", service, err)
				}
				continue
			}
			if connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Errorf("%s asking %s to purge: %v, want PermissionDenied", caller, service, err)
			}
		}
		if err := purge(callers["labs"], "not-a-lab"); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s purging lab id not-a-lab: %v, want InvalidArgument", service, err)
		}
	}
	// labs' call went through: the contract is gone.
	if n := queryFloat(t, sys, "SELECT count(*) FROM calc.electricity_contracts WHERE lab_id = $1", lab); n != 0 {
		t.Fatalf("contracts left after labs' call: %v", n)
	}
	for _, path := range []string{calcv1connect.LabPurgeServicePurgeLabDataProcedure, "/api/v1" + calcv1connect.LabPurgeServicePurgeLabDataProcedure} {
		if status, _ := raw(t, "POST", sys.Gateway+path, "Bearer "+tokens["admin"], `{"labId":"`+lab+`"}`); status != http.StatusNotFound {
			t.Fatalf("a purge through the gateway at %s: %d", path, status)
		}
	}
}
