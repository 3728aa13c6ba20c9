package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// bundledFactors is how many factors the bundled dataset holds: 118 kept
// by hand (default.csv) and 5,053 grid factors written from Our World in
// Data's carbon intensities (grid.csv).
const bundledFactors = "5171"

func TestFactorsCarryTheirSourceAndLicence(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"

	datasets, _ := mustCall(t, 200, "GET", api+"/factor-datasets", "")["datasets"].([]any)
	if len(datasets) != 1 {
		t.Fatalf("datasets: %v", datasets)
	}
	dataset := datasets[0].(map[string]any)
	if dataset["dataset"] != "default" || dataset["version"] != "2026.2" || dataset["active"] != true || dataset["factors"] != bundledFactors {
		t.Fatalf("default dataset: %v", dataset)
	}

	// Every factor says where it comes from and under which licence.
	var all []map[string]any
	token := ""
	for pages := 0; pages < 20; pages++ { // 5,171 factors, 500 a page
		page := mustCall(t, 200, "GET", api+"/factors?page_size=500&page_token="+token, "")
		factors, _ := page["factors"].([]any)
		for _, factor := range factors {
			all = append(all, factor.(map[string]any))
		}
		if token, _ = page["nextPageToken"].(string); token == "" {
			break
		}
	}
	if fmt.Sprint(len(all)) != bundledFactors {
		t.Fatalf("%d factors over the pages", len(all))
	}
	for _, factor := range all {
		if factor["source"] == "" || factor["licence"] == "" || factor["unit"] == "" {
			t.Fatalf("incomplete factor %v", factor)
		}
	}
	german, _ := mustCall(t, 200, "GET", api+"/factors?kind=electricity&region=DE", "")["factors"].([]any)
	if len(german) != 25 {
		t.Fatalf("German grid factors: %d, want one a year 2000–2024", len(german))
	}
	for _, factor := range german {
		f := factor.(map[string]any)
		if !strings.Contains(f["source"].(string), "Our World in Data") || f["licence"] != "CC-BY-4.0" || f["uncertaintyPct"] != float64(15) {
			t.Fatalf("German grid factor without its source, licence or uncertainty: %v", f)
		}
	}
	swiss, _ := mustCall(t, 200, "GET", api+"/factors?kind=electricity&region=CH", "")["factors"].([]any)
	if len(swiss) != 1 || swiss[0].(map[string]any)["value"] != 0.097 {
		t.Fatalf("Swiss electricity: %v", swiss)
	}

	// An emission names the factor it used.
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"FAC","name":"Lab","country":"CH"}`)["id"].(string)
	activity := mustCall(t, 200, "POST", api+"/labs/"+lab+"/activities", entryBody)
	emission := activity["emissions"].([]any)[0].(map[string]any)
	if emission["factorId"] != swiss[0].(map[string]any)["id"] || emission["factorVersion"] != "2026.2" {
		t.Fatalf("emission %v, factor %v", emission, swiss[0])
	}
}
