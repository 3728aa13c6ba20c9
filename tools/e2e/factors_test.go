package e2e

import (
	"testing"
)

func TestFactorsCarryTheirSourceAndLicence(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"

	datasets, _ := mustCall(t, 200, "GET", api+"/factor-datasets", "")["datasets"].([]any)
	if len(datasets) != 1 {
		t.Fatalf("datasets: %v", datasets)
	}
	dataset := datasets[0].(map[string]any)
	if dataset["dataset"] != "default" || dataset["version"] != "2026.1" || dataset["active"] != true || dataset["factors"] != "80" {
		t.Fatalf("default dataset: %v", dataset)
	}

	// Every factor says where it comes from and under which licence.
	var all []map[string]any
	token := ""
	for pages := 0; pages < 10; pages++ { // 80 factors, 25 a page
		page := mustCall(t, 200, "GET", api+"/factors?page_size=25&page_token="+token, "")
		factors, _ := page["factors"].([]any)
		for _, factor := range factors {
			all = append(all, factor.(map[string]any))
		}
		if token, _ = page["nextPageToken"].(string); token == "" {
			break
		}
	}
	if len(all) != 80 {
		t.Fatalf("%d factors over the pages", len(all))
	}
	for _, factor := range all {
		if factor["source"] == "" || factor["licence"] == "" || factor["unit"] == "" {
			t.Fatalf("incomplete factor %v", factor)
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
	if emission["factorId"] != swiss[0].(map[string]any)["id"] || emission["factorVersion"] != "2026.1" {
		t.Fatalf("emission %v, factor %v", emission, swiss[0])
	}
}
