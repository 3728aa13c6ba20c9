package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"testing"
	"time"
)

// waitExport polls an export until its status is one of statuses.
func waitExport(t *testing.T, sys *system, lab, id string, timeout time.Duration, statuses ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		export := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/reports/"+lab+"/exports/"+id, "")["export"].(map[string]any)
		for _, status := range statuses {
			if export["status"] == status {
				return export
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("export %s after %s: %v, want %v", id, timeout, export, statuses)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// zipLines counts the lines of every file in a ZIP.
func zipLines(t *testing.T, raw []byte) int {
	t.Helper()
	archive, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, f := range archive.File {
		file, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(file)
		for scanner.Scan() {
			lines++
		}
		file.Close()
	}
	return lines
}

// The reporting process dies while it writes an export: the export's lease
// lapses, the safety net of the restarted process hands it to a second
// attempt, and the user gets the whole ZIP.
func TestAnExportWhoseWorkerIsKilledIsRetriedAndDone(t *testing.T) {
	// The test polls the export often enough to catch it running.
	sys := startSystem(t, "EXPORT_LEASE=2s", "EXPORT_POLL_INTERVAL=500ms", "RATE_LIMIT_READ=0/1m")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"EXPKILL","name":"Lab","country":"CH"}`)["id"].(string)
	const rows = 200_000
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentRows(rows), false)
	if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
		t.Fatalf("import: %v", done)
	}

	id := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	if running := waitExport(t, sys, lab, id, 30*time.Second, "running", "done"); running["status"] != "running" {
		t.Fatalf("the export was not caught running: %v", running)
	}
	sys.kill("reporting")
	if got := queryFloat(t, sys, "SELECT count(*) FROM reporting.exports WHERE id = $1 AND status = 'running'", id); got != 1 {
		t.Fatal("killed too late to test anything: the export is no longer running")
	}
	sys.start(t, "reporting")

	done := waitExport(t, sys, lab, id, 90*time.Second, "done", "failed")
	emissions := int(queryFloat(t, sys, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1", lab))
	if done["status"] != "done" || done["rows"] != fmt.Sprint(emissions) || done["error"] != "" {
		t.Fatalf("after the crash: %v, want done with %d rows", done, emissions)
	}
	if attempts := queryFloat(t, sys, "SELECT attempts FROM reporting.exports WHERE id = $1", id); attempts != 2 {
		t.Fatalf("%v attempts, want 2", attempts)
	}
	status, _, raw := fetch(t, "admin", "GET", sys.Gateway+done["downloadUrl"].(string))
	if status != 200 {
		t.Fatalf("download: %d %.200s", status, raw)
	}
	if lines := zipLines(t, raw); lines != emissions+1 {
		t.Fatalf("%d lines in the ZIP, want a header and %d rows", lines, emissions)
	}
	// The restarted process timed the attempt that wrote it.
	if got := metricSum(t, sys, "reporting", "reporting_export_duration_seconds_count", `result="done"`); got != 1 {
		t.Fatalf("reporting_export_duration_seconds_count{result=done}: %v, want 1", got)
	}
}
