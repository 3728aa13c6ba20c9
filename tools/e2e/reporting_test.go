package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fetch sends a GET or POST as user and returns the status, content type and
// raw body.
func fetch(t *testing.T, user, method, url string) (int, string, []byte) {
	t.Helper()
	request, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, response.Header.Get("Content-Type"), raw
}

// number reads a JSON number, or an int64 (a string in protobuf's JSON).
func number(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return math.NaN()
}

// kgOf is the kg CO2e of equipment in a Swiss lab: hours a week at watts,
// 52 weeks, 0.097 kg CO2e per kWh (the default 2025 factor).
func kgOf(hours, watts float64) float64 { return hours * watts * 52 / 1000 * 0.097 }

func TestReportsMatchTheData(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"REP","name":"Report lab","country":"CH"}`)["id"].(string)
	sub := mustCall(t, 200, "POST", api+"/labs", `{"code":"REP-SUB","name":"Sub-lab","country":"CH","parentId":"`+lab+`"}`)["id"].(string)
	other := mustCall(t, 200, "POST", api+"/labs", `{"code":"OTHER","name":"Other lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)

	// 2025: two devices imported (one named like a formula), one entry in
	// the sub-lab; 2024: one entry; another lab's data stays out.
	_, answer := upload(t, sys, "member", lab, "kind=equipment&year=2025",
		equipmentHeader+"Freezer,scientific,1,168,350,0,0\n\"=HYPERLINK(\"\"http://evil\"\")\",it,1,40,60,0,0\n", false)
	waitFinished(t, sys, importID(t, answer))
	mustCall(t, 200, "POST", api+"/labs/"+sub+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"PC","category":"it","active_hours_per_week":"40","active_power_w":"100"}}`)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities",
		`{"year":2024,"kind":"equipment","values":{"equipment_name":"Freezer","category":"scientific","active_hours_per_week":"84","active_power_w":"350"}}`)
	for _, fte := range []string{"1", "0.5"} {
		mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", `{"year":2025,"kind":"member","values":{"fte":"`+fte+`"}}`)
	}
	mustCall(t, 200, "POST", api+"/labs/"+other+"/activities",
		`{"year":2025,"kind":"equipment","values":{"equipment_name":"Oven","category":"scientific","active_hours_per_week":"100","active_power_w":"1000"}}`)

	freezer, pc, subPC, freezer2024 := kgOf(168, 350), kgOf(40, 60), kgOf(40, 100), kgOf(84, 350)
	total := freezer + pc
	// The factor's uncertainty is 10 %, and both rows use the one Swiss
	// grid factor: their uncertainties add up (ADR 026).
	uncertainty := (freezer + pc) / 10

	t.Run("json", func(t *testing.T) {
		status, report := call(t, "member", "GET", api+"/reports/"+lab+"?year=2025", "")
		if status != 200 {
			t.Fatalf("%d %v", status, report)
		}
		totals := report["total"].(map[string]any)
		checks := map[string][2]float64{
			"total kg":         {totals["kgCo2e"].(float64), total},
			"total t":          {totals["tCo2e"].(float64), total / 1000},
			"uncertainty":      {totals["uncertaintyKg"].(float64), uncertainty},
			"scope 2 location": {report["scope2LocationBased"].(map[string]any)["kgCo2e"].(float64), total},
			// No residual mix for CH: market-based falls back to the grid.
			"scope 2 market":    {report["scope2MarketBased"].(map[string]any)["kgCo2e"].(float64), total},
			"fte":               {report["fte"].(float64), 1.5},
			"per fte":           {report["kgCo2ePerFte"].(float64), total / 1.5},
			"scope 1":           {report["scope1"].(map[string]any)["kgCo2e"].(float64), 0},
			"scope 3":           {report["scope3"].(map[string]any)["kgCo2e"].(float64), 0},
			"previous year":     {report["previousYear"].(map[string]any)["kgCo2e"].(float64), freezer2024},
			"change pct":        {report["changePct"].(float64), (total - freezer2024) / freezer2024 * 100},
			"car km":            {report["equivalentCarKm"].(float64), total / 0.2996},
			"entries":           {number(report["entries"]), 4},
			"imports":           {number(report["imports"]), 1},
			"fallback share":    {report["fallbackShare"].(float64), 0},
			"modules":           {float64(len(report["modules"].([]any))), 2},
			"equipment entries": {number(report["modules"].([]any)[0].(map[string]any)["entries"]), 2},
		}
		for name, c := range checks {
			if !near(c[0], c[1]) {
				t.Errorf("%s: got %v, want %v", name, c[0], c[1])
			}
		}
		versions := report["factorVersions"].([]any)
		if len(versions) != 1 || versions[0].(map[string]any)["dataset"] != "default" {
			t.Errorf("factor versions %v", versions)
		}
	})

	t.Run("sub-labs", func(t *testing.T) {
		report := mustCall(t, 200, "GET", api+"/reports/"+lab+"?year=2025&include_sublabs=true", "")
		if got := report["total"].(map[string]any)["kgCo2e"].(float64); !near(got, total+subPC) {
			t.Fatalf("with sub-labs: %v, want %v", got, total+subPC)
		}
		if ids := report["labIds"].([]any); len(ids) != 2 || ids[0] != lab || ids[1] != sub {
			t.Fatalf("lab ids %v", ids)
		}
	})

	t.Run("csv", func(t *testing.T) {
		status, contentType, raw := fetch(t, "member", "GET", api+"/reports/"+lab+"?year=2025&format=csv")
		if status != 200 || !strings.HasPrefix(contentType, "text/csv") {
			t.Fatalf("%d %s %s", status, contentType, raw)
		}
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		found := map[string][]string{}
		for _, row := range rows[1:] {
			found[row[0]+"/"+row[1]+"/"+row[3]+"/"+row[11]] = row
		}
		for key, want := range map[string]float64{"total///": total, "scope//2/location_based": total, "module/equipment//": total} {
			row, ok := found[key]
			if !ok {
				t.Fatalf("no %s row in\n%s", key, raw)
			}
			if got, _ := strconv.ParseFloat(row[4], 64); !near(got, want) {
				t.Errorf("%s: %v, want %v", key, got, want)
			}
		}
	})

	t.Run("svg", func(t *testing.T) {
		for _, url := range []string{"/reports/" + lab + "?year=2025&format=svg", "/reports/" + lab + "?year=2025&format=svg&chart=scopes", "/reports/" + lab + "/years?format=svg"} {
			status, contentType, raw := fetch(t, "member", "GET", api+url)
			if status != 200 || contentType != "image/svg+xml" {
				t.Fatalf("%s: %d %s %s", url, status, contentType, raw)
			}
			var text strings.Builder
			decoder := xml.NewDecoder(bytes.NewReader(raw))
			for {
				token, err := decoder.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: not XML: %v", url, err)
				}
				if data, ok := token.(xml.CharData); ok {
					text.Write(data)
				}
			}
			if want := map[int]string{0: "Equipment", 1: "Scope 2 (location-based)", 2: "2024"}[strings.Count(url, "chart")+2*strings.Count(url, "years")]; !strings.Contains(text.String(), want) {
				t.Errorf("%s does not name %q", url, want)
			}
		}
	})

	t.Run("years", func(t *testing.T) {
		years := mustCall(t, 200, "GET", api+"/reports/"+lab+"/years", "")["years"].([]any)
		if len(years) != 2 || years[0].(map[string]any)["year"].(float64) != 2024 ||
			!near(years[1].(map[string]any)["total"].(map[string]any)["kgCo2e"].(float64), total) {
			t.Fatalf("years %v", years)
		}
	})

	t.Run("ranking", func(t *testing.T) {
		labs := mustCall(t, 200, "GET", api+"/reports?year=2025", "")["labs"].([]any)
		if len(labs) != 3 || labs[0].(map[string]any)["labCode"] != "OTHER" || labs[1].(map[string]any)["labCode"] != "REP" {
			t.Fatalf("ranking %v", labs)
		}
		status, _, raw := fetch(t, "auditor", "GET", api+"/reports?year=2025&format=csv")
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if status != 200 || err != nil || len(rows) != 4 || rows[2][2] != "REP" {
			t.Fatalf("ranking CSV: %d %v %q", status, err, raw)
		}
		if status, _ := call(t, "manager", "GET", api+"/reports?year=2025", ""); status != 403 {
			t.Fatalf("a lab manager sees the institution: %d", status)
		}
	})

	t.Run("errors and roles", func(t *testing.T) {
		for _, c := range []struct {
			user, url string
			status    int
			says      string
		}{
			{"member", "/reports/" + lab + "?year=2025&format=pdf", 400, "format"},
			{"member", "/reports/" + lab + "?year=1800", 400, "year"},
			{"outsider", "/reports/" + lab + "?year=2025", 404, "no lab"},
			{"member", "/reports/" + other + "?year=2025", 404, "no lab"},
			{"auditor", "/reports/" + other + "?year=2025", 200, ""},
		} {
			status, answer := call(t, c.user, "GET", api+c.url, "")
			message, _ := answer["message"].(string)
			if status != c.status || !strings.Contains(message+strings.Join(violatedFields(answer), " "), c.says) {
				t.Errorf("%s %s: %d %v, want %d with %q", c.user, c.url, status, answer, c.status, c.says)
			}
		}
		// Without a year: the latest year with data (2025; 2024 has some too).
		if latest := mustCall(t, 200, "GET", api+"/reports/"+lab, ""); fmt.Sprint(latest["year"]) != "2025" {
			t.Errorf("a report without a year is of year %v, want the latest with data, 2025", latest["year"])
		}
		if status, answer := call(t, "member", "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`); status != 403 {
			t.Errorf("member export: %d %v", status, answer)
		}
		if status, answer := call(t, "outsider", "POST", api+"/reports/"+lab+"/exports", `{"year":2025}`); status != 404 {
			t.Errorf("outsider export: %d %v", status, answer)
		}
	})

	t.Run("export", func(t *testing.T) {
		status, created := call(t, "manager", "POST", api+"/reports/"+lab+"/exports", `{"year":2025,"includeSublabs":true}`)
		if status != 200 {
			t.Fatalf("%d %v", status, created)
		}
		id := created["export"].(map[string]any)["id"].(string)
		var export map[string]any
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_, answer := call(t, "manager", "GET", api+"/reports/"+lab+"/exports/"+id, "")
			export, _ = answer["export"].(map[string]any)
			if export["status"] == "done" || export["status"] == "failed" || time.Now().After(deadline) {
				break
			}
		}
		if export["status"] != "done" {
			t.Fatalf("export %v", export)
		}
		status, contentType, raw := fetch(t, "manager", "GET", sys.Gateway+export["downloadUrl"].(string))
		if status != 200 || contentType != "application/zip" {
			t.Fatalf("download: %d %s %.200s", status, contentType, raw)
		}
		archive, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var fileNames []string
		for _, f := range archive.File {
			fileNames = append(fileNames, f.Name)
		}
		if !slices.Equal(fileNames, []string{"equipment/equipment.csv", "headcount/member.csv"}) {
			t.Fatalf("files %v", fileNames)
		}
		file, _ := archive.File[0].Open()
		rows, err := csv.NewReader(file).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		column := map[string]int{}
		for i, name := range rows[0] {
			column[name] = i
		}
		sum, names, rowsInTotals := 0.0, map[string]bool{}, 0
		for _, row := range rows[1:] {
			if row[column["variant"]] != "" {
				continue // market-based beside each
			}
			rowsInTotals++
			kg, _ := strconv.ParseFloat(row[column["kg_co2e"]], 64)
			sum += kg
			names[row[column["input_equipment_name"]]] = true
			if row[column["factor_dataset"]] != "default" || row[column["factor_version"]] == "" || row[column["quantity_unit"]] != "kWh" {
				t.Errorf("row %v", row)
			}
		}
		if rowsInTotals != 3 || !near(sum, total+subPC) {
			t.Fatalf("%d rows, %v kg, want 3 rows and %v kg", rowsInTotals, sum, total+subPC)
		}
		// The formula is neutralised.
		if !names[`'=HYPERLINK("http://evil")`] || !names["Freezer"] || !names["PC"] {
			t.Fatalf("equipment names %v", names)
		}
		if status, _ := call(t, "member", "GET", api+"/reports/"+lab+"/exports/"+id, ""); status != 403 {
			t.Errorf("member sees the export: %d", status)
		}
		if status, _, _ := fetch(t, "outsider", "GET", api+"/reports/"+lab+"/exports/"+id+":download"); status != 404 {
			t.Errorf("outsider downloads: %d", status)
		}
	})
}

// 10,000 rows computed with one factor carry 10,000 times one row's
// uncertainty (the factor's, shared by all of them), not 100 times as if
// each row's were independent; the report says how it combined them.
func TestOneFactorsUncertaintyIsSharedByEveryRow(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"UNCERTAIN","name":"Lab","country":"CH"}`)["id"].(string)
	var rows strings.Builder
	rows.WriteString(equipmentHeader)
	for range 10_000 {
		rows.WriteString("PC,it,1,40,60,0,0\n")
	}
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", rows.String(), false)
	if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
		t.Fatalf("import: %v", done)
	}
	report := mustCall(t, 200, "GET", api+"/reports/"+lab+"?year=2025", "")
	// One row: 40 h × 60 W × 52 weeks at the Swiss grid factor, ± 10 %.
	rowKg := kgOf(40, 60)
	total := report["total"].(map[string]any)
	if got, want := number(total["uncertaintyKg"]), 10_000*rowKg*0.10; !closeTo(got, want) {
		t.Fatalf("uncertainty of 10,000 rows on one factor: %g kg, want %g (10,000 × one row's %g)", got, want, rowKg*0.10)
	}
	if method, _ := report["uncertaintyMethod"].(string); !strings.Contains(method, "correlated") {
		t.Fatalf("uncertainty method: %q", method)
	}
	// The institution's ranking combines them the same way.
	for _, l := range mustCall(t, 200, "GET", api+"/reports?year=2025", "")["labs"].([]any) {
		if l := l.(map[string]any); l["labId"] == lab {
			if got := number(l["total"].(map[string]any)["uncertaintyKg"]); !closeTo(got, number(total["uncertaintyKg"])) {
				t.Fatalf("the ranking's uncertainty %g, the report's %v", got, total["uncertaintyKg"])
			}
			return
		}
	}
	t.Fatal("the lab is not in the ranking")
}
