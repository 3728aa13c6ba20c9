package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// fileAnswer is an HTTP answer with its body read.
type fileAnswer struct {
	StatusCode int
	Header     http.Header
}

// fetchAs GETs url as user with the given Accept header and returns the
// answer with its body read.
func fetchAs(t *testing.T, user, url, accept string) (fileAnswer, string) {
	t.Helper()
	request, _ := http.NewRequest(http.MethodGet, url, nil)
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	if accept != "" {
		request.Header.Set("Accept", accept)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fileAnswer{StatusCode: response.StatusCode, Header: response.Header}, string(body)
}

// Templates come as CSV files when asked for (Accept: text/csv or
// format=csv), JSON staying the default; reports' CSV and SVG carry a file
// name with the lab and the year.
func TestFilesComeAsFiles(t *testing.T) {
	sys := startSystem(t)
	for _, ask := range []struct{ query, accept string }{{"", "text/csv"}, {"?format=csv", ""}, {"", "text/csv;q=0.9, application/json;q=0.5"}} {
		response, body := fetchAs(t, "member", sys.Gateway+"/api/v1/templates/equipment"+ask.query, ask.accept)
		if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), "text/csv") ||
			response.Header.Get("Content-Disposition") != `attachment; filename="equipment-template.csv"` || !strings.HasPrefix(body, "equipment_name,") {
			t.Fatalf("template %+v: %d %s %q %q", ask, response.StatusCode, response.Header.Get("Content-Type"), response.Header.Get("Content-Disposition"), body)
		}
	}
	response, body := fetchAs(t, "member", sys.Gateway+"/api/v1/templates/equipment", "")
	if response.StatusCode != http.StatusOK || response.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"csv":"equipment_name,`) {
		t.Fatalf("template as JSON (the default): %d %s %s", response.StatusCode, response.Header.Get("Content-Type"), body)
	}
	if response, body := fetchAs(t, "member", sys.Gateway+"/api/v1/templates/equipment?format=xml", ""); response.StatusCode != http.StatusBadRequest || !strings.Contains(body, "csv") {
		t.Fatalf("format=xml: %d %s, want 400 naming the formats", response.StatusCode, body)
	}
	if response, _ := fetchAs(t, "member", sys.Gateway+"/api/v1/templates/nosuchkind?format=csv", ""); response.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown kind as CSV: %d, want 404", response.StatusCode)
	}

	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"FILES","name":"Lab","country":"CH"}`)["id"].(string)
	report := sys.Gateway + "/api/v1/reports/" + lab
	if status, answer := call(t, "admin", "GET", report, ""); status != http.StatusNotFound || !strings.Contains(answer["message"].(string), "no data") {
		t.Fatalf("the report of a lab without data, no year given: %d %v, want 404 saying so", status, answer)
	}
	for _, year := range []string{"2024", "2025"} {
		status, answer := upload(t, sys, "admin", lab, "kind=equipment&year="+year, equipmentRows(3), false)
		if status != http.StatusAccepted {
			t.Fatalf("upload: %d %v", status, answer)
		}
		waitFinished(t, sys, importID(t, answer))
	}
	if latest := mustCall(t, 200, "GET", report, ""); latest["year"] != 2025.0 {
		t.Fatalf("the report without a year: year %v, want 2025 (the latest with data)", latest["year"])
	}
	for _, file := range []struct{ query, contentType, name string }{
		{"?year=2024&format=csv", "text/csv", "co2-report-" + lab + "-2024.csv"},
		{"?format=csv", "text/csv", "co2-report-" + lab + "-2025.csv"},
		{"?year=2025&format=svg&chart=scopes", "image/svg+xml", "co2-report-" + lab + "-2025-scopes.svg"},
		{"/years?format=svg", "image/svg+xml", "co2-report-" + lab + "-years.svg"},
	} {
		response, _ := fetchAs(t, "admin", report+file.query, "")
		if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), file.contentType) ||
			response.Header.Get("Content-Disposition") != `attachment; filename="`+file.name+`"` {
			t.Fatalf("report %s: %d %s %q, want %s", file.query, response.StatusCode, response.Header.Get("Content-Type"), response.Header.Get("Content-Disposition"), file.name)
		}
	}
	if response, _ := fetchAs(t, "admin", report+"?year=2025", ""); response.Header.Get("Content-Disposition") != "" {
		t.Fatalf("the JSON report is no attachment: %q", response.Header.Get("Content-Disposition"))
	}
}
