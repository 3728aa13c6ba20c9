package e2e

import (
	"strings"
	"testing"
	"time"
)

// Once their retention has passed, an import's file and an export's ZIP
// are deleted by the safety nets; the import still shows its outcome and
// rejected rows and refuses a retry, the export says it expired and its
// download says why it is refused.
func TestFilesAndZIPsGoAfterTheirRetention(t *testing.T) {
	sys := startSystem(t, "IMPORT_FILE_RETENTION=1s", "EXPORT_RETENTION=1s", "POLL_INTERVAL=300ms", "EXPORT_POLL_INTERVAL=300ms")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"KEEP","name":"Lab","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+"Freezer,scientific,1,168,350,0,0\nOven,scientific,1,200,10,0,0\n", false)
	id := importID(t, answer)
	if done := waitFinished(t, sys, id); done["result"] != "WARNING" {
		t.Fatalf("import: %v", done)
	}
	export := mustCall(t, 200, "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	if done := waitExport(t, sys, lab, export, 30*time.Second, "done", "failed"); done["status"] != "done" || done["expiresAt"] == nil {
		t.Fatalf("export: %v, want done with the time its ZIP goes", done)
	}

	deadline := time.Now().Add(20 * time.Second)
	for queryFloat(t, sys, "SELECT count(*) FROM ingest.import_file_chunks WHERE job_id = $1", id) > 0 ||
		queryFloat(t, sys, "SELECT count(*) FROM reporting.export_chunks WHERE export_id = $1", export) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the file or the ZIP outlived its retention")
		}
		time.Sleep(100 * time.Millisecond)
	}

	status := mustCall(t, 200, "GET", api+"/imports/"+id+"/status", "")
	if status["state"] != "FINISHED" || status["result"] != "WARNING" || status["rowsOk"] != "1" || status["rowsRejected"] != "1" {
		t.Fatalf("the import after its file went: %v", status)
	}
	rowErrors, _ := mustCall(t, 200, "GET", api+"/imports/"+id+"/errors", "")["errors"].([]any)
	if len(rowErrors) != 1 || rowErrors[0].(map[string]any)["column"] != "active_hours_per_week" {
		t.Fatalf("the import's rejected rows after its file went: %v", rowErrors)
	}
	code, refused := call(t, "admin", "POST", api+"/imports/"+id+":retry", "")
	if message, _ := refused["message"].(string); code != 400 || !strings.Contains(message, "no longer kept") || !strings.Contains(message, "IMPORT_FILE_RETENTION") {
		t.Fatalf("retry of an import whose file went: %d %v", code, refused)
	}

	expired := waitExport(t, sys, lab, export, time.Second, "expired")
	if expired["downloadUrl"] != "" || expired["expiresAt"] == nil {
		t.Fatalf("the expired export: %v", expired)
	}
	code, _, raw := fetch(t, "admin", "GET", api+"/reports/"+lab+"/exports/"+export+":download")
	if code != 400 || !strings.Contains(string(raw), "has expired") || !strings.Contains(string(raw), "EXPORT_RETENTION") {
		t.Fatalf("download of an expired export: %d %s", code, raw)
	}
}
