package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/csvout/csvouttest"
)

// Names a user can type, each hiding a formula a spreadsheet could run
// once it splits the cell at some separator, go through every CSV the system
// hands out: none may reach a spreadsheet as a formula, whatever separator
// it splits at.
func TestHostileCellsLeaveNoFormulaInAnyCSV(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"CSV","name":"Lab;=1+1;","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+
		"\"PC;=1+1;\",it,1,40,60,0,0\n"+
		"Desk|@SUM(A1),it,1,40,60,0,0\n"+
		"\"Screen,=2+3\",it,1,40,60,0,0\n"+
		"\" +1\",it,1,40,60,0,0\n"+ // the importer trims it to +1
		"\"Lamp\t-2+3+cmd|' /C calc'!A0\",it,1,40,60,0,0\n", false)
	if done := waitFinished(t, sys, importID(t, answer)); done["rowsOk"] != "5" {
		t.Fatalf("import: %v", done)
	}
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"-1+1;=cmd|' /C calc'!A0","category":"it","active_hours_per_week":"40","active_power_w":"60"}}`)

	files := map[string][]byte{}
	get := func(name, url string) {
		status, _, raw := fetch(t, "admin", "GET", url)
		if status != 200 {
			t.Fatalf("%s: %d %s", name, status, raw)
		}
		files[name] = raw
	}
	get("report", api+"/reports/"+lab+"?year=2025&format=csv")
	get("ranking", api+"/reports?year=2025&format=csv")
	for _, template := range mustCall(t, 200, "GET", api+"/templates", "")["templates"].([]any) {
		template := template.(map[string]any)
		files["template "+template["kind"].(string)] = []byte(template["csv"].(string))
	}
	export := mustCall(t, 200, "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)
	for deadline := time.Now().Add(60 * time.Second); export["status"] != "done"; time.Sleep(100 * time.Millisecond) {
		if export["status"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("export %v", export)
		}
		export = mustCall(t, 200, "GET", api+"/reports/"+lab+"/exports/"+export["id"].(string), "")["export"].(map[string]any)
	}
	get("export", sys.Gateway+export["downloadUrl"].(string))
	archive, err := zip.NewReader(bytes.NewReader(files["export"]), int64(len(files["export"])))
	if err != nil {
		t.Fatal(err)
	}
	delete(files, "export")
	for _, file := range archive.File {
		reader, _ := file.Open()
		files["export "+file.Name], _ = io.ReadAll(reader)
	}

	for name, raw := range files {
		if found := csvouttest.Formulas(raw); len(found) > 0 {
			t.Errorf("%s:\n%s", name, strings.Join(found, "\n"))
		}
	}
	// The names are all there, each hidden formula quoted.
	if !strings.Contains(string(files["ranking"]), "Lab;'=1+1;") {
		t.Errorf("ranking:\n%s", files["ranking"])
	}
	rows, err := csv.NewReader(bytes.NewReader(files["export equipment/equipment.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, row := range rows[1:] {
		names[row[slices.Index(rows[0], "input_equipment_name")]] = true
	}
	for _, want := range []string{"PC;'=1+1;", "Desk|'@SUM(A1)", "Screen,'=2+3", "'+1", "Lamp\t'-2+3+cmd|' /C calc'!A0", "'-1+1;'=cmd|' /C calc'!A0"} {
		if !names[want] {
			t.Errorf("no equipment named %q in the export: %v", want, names)
		}
	}
}
