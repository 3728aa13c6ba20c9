package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// call sends a REST request as user (a dev user's name, or "" for none)
// the way curl does (a JSON body without a content type) and decodes the
// JSON answer.
func call(t *testing.T, user, method, url, body string) (int, map[string]any) {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	request, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		request.Header.Set("Authorization", "Bearer "+tokens[user])
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]any{}
	if len(raw) > 0 && json.Unmarshal(raw, &decoded) != nil {
		t.Fatalf("%s %s: answer is not JSON: %s", method, url, raw)
	}
	return response.StatusCode, decoded
}

// mustCall is call as the admin, failing unless the status is wantStatus.
func mustCall(t *testing.T, wantStatus int, method, url, body string) map[string]any {
	t.Helper()
	status, answer := call(t, "admin", method, url, body)
	if status != wantStatus {
		t.Fatalf("%s %s %s: status %d, want %d: %v", method, url, body, status, wantStatus, answer)
	}
	return answer
}

// violatedFields lists the fields named in a 400 answer's BadRequest detail.
func violatedFields(answer map[string]any) []string {
	var fields []string
	details, _ := answer["details"].([]any)
	for _, detail := range details {
		violations, _ := detail.(map[string]any)["fieldViolations"].([]any)
		for _, violation := range violations {
			fields = append(fields, violation.(map[string]any)["field"].(string))
		}
	}
	return fields
}

func labCodes(answer map[string]any) []string {
	var codes []string
	labs, _ := answer["labs"].([]any)
	for _, lab := range labs {
		codes = append(codes, lab.(map[string]any)["code"].(string))
	}
	return codes
}

func TestLabLifecycleOverREST(t *testing.T) {
	api := startSystem(t).Gateway + "/api/v1"

	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"ENAC-LAB1","name":"Lab 1","country":"CH","description":"Hydraulics"}`)
	id, _ := lab["id"].(string)
	if id == "" || lab["code"] != "ENAC-LAB1" || lab["country"] != "CH" || lab["createdAt"] == nil || lab["archivedAt"] != nil {
		t.Fatalf("created %v", lab)
	}
	if got := mustCall(t, 200, "GET", api+"/labs/"+id, ""); got["name"] != "Lab 1" || got["description"] != "Hydraulics" {
		t.Fatalf("get %v", got)
	}

	sub := mustCall(t, 200, "POST", api+"/labs", `{"code":"ENAC-LAB1-A","name":"Team A","country":"CH","parentId":"`+id+`"}`)
	subID := sub["id"].(string)
	if sub["parentId"] != id {
		t.Fatalf("sub-lab %v", sub)
	}

	// PUT replaces every mutable field: the description is cleared.
	replaced := mustCall(t, 200, "PUT", api+"/labs/"+id, `{"code":"ENAC-LAB1","name":"Lab One","country":"FR"}`)
	if replaced["name"] != "Lab One" || replaced["country"] != "FR" || replaced["description"] != "" {
		t.Fatalf("put %v", replaced)
	}
	// PATCH without a mask changes the fields sent; with one, the fields named.
	patched := mustCall(t, 200, "PATCH", api+"/labs/"+id, `{"description":"Rivers"}`)
	if patched["description"] != "Rivers" || patched["name"] != "Lab One" {
		t.Fatalf("patch %v", patched)
	}
	patched = mustCall(t, 200, "PATCH", api+"/labs/"+id+"?update_mask=description,country", `{"country":"ch","name":"ignored"}`)
	if patched["description"] != "" || patched["country"] != "CH" || patched["name"] != "Lab One" {
		t.Fatalf("patch with mask %v", patched)
	}

	for _, code := range []string{"LAB-C", "LAB-B", "LAB-D"} {
		mustCall(t, 200, "POST", api+"/labs", `{"code":"`+code+`","name":"Other `+code+`","country":"DE"}`)
	}
	page := mustCall(t, 200, "GET", api+"/labs?page_size=2", "")
	token, _ := page["nextPageToken"].(string)
	if got := labCodes(page); !slices.Equal(got, []string{"ENAC-LAB1", "ENAC-LAB1-A"}) || token == "" {
		t.Fatalf("first page %v, token %q", got, token)
	}
	page = mustCall(t, 200, "GET", api+"/labs?page_size=2&page_token="+token, "")
	if got := labCodes(page); !slices.Equal(got, []string{"LAB-B", "LAB-C"}) {
		t.Fatalf("second page %v", got)
	}
	if got := labCodes(mustCall(t, 200, "GET", api+"/labs?parent_id="+id, "")); !slices.Equal(got, []string{"ENAC-LAB1-A"}) {
		t.Fatalf("sub-labs %v", got)
	}
	if got := labCodes(mustCall(t, 200, "GET", api+"/labs?name_contains=other%20lab-c", "")); !slices.Equal(got, []string{"LAB-C"}) {
		t.Fatalf("name filter %v", got)
	}

	// DELETE archives; a lab with live sub-labs cannot be archived.
	refused := mustCall(t, 400, "DELETE", api+"/labs/"+id, "")
	if !strings.Contains(refused["message"].(string), "sub-lab") {
		t.Fatalf("refusal says %v", refused)
	}
	if archived := mustCall(t, 200, "DELETE", api+"/labs/"+subID, ""); archived["archivedAt"] == nil {
		t.Fatalf("archived %v", archived)
	}
	if got := labCodes(mustCall(t, 200, "GET", api+"/labs", "")); slices.Contains(got, "ENAC-LAB1-A") {
		t.Fatalf("archived labs are left out of lists: %v", got)
	}
	if got := labCodes(mustCall(t, 200, "GET", api+"/labs?include_archived=true", "")); !slices.Contains(got, "ENAC-LAB1-A") {
		t.Fatalf("include_archived shows them: %v", got)
	}
	if back := mustCall(t, 200, "POST", api+"/labs/"+subID+":unarchive", ""); back["archivedAt"] != nil {
		t.Fatalf("unarchived %v", back)
	}

	// Purging removes for good.
	mustCall(t, 200, "DELETE", api+"/labs/"+subID+"?purge=true", "")
	mustCall(t, 404, "GET", api+"/labs/"+subID, "")
}

func TestRESTErrorsNameWhatToFix(t *testing.T) {
	api := startSystem(t).Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"ENAC-LAB1","name":"Lab 1","country":"CH"}`)
	id := lab["id"].(string)

	cases := []struct {
		name, method, path, body string
		status                   int
		fields                   []string // named in the field violations
		says                     string   // in the message
	}{
		{"missing fields", "POST", "/labs", `{}`, 400, []string{"code", "name", "country"}, "required"},
		{"bad country", "POST", "/labs", `{"code":"X","name":"X","country":"Switzerland"}`, 400, []string{"country"}, "ISO 3166-1"},
		{"bad code", "POST", "/labs", `{"code":"no spaces","name":"X","country":"CH"}`, 400, []string{"code"}, "valid code"},
		{"unknown parent", "POST", "/labs", `{"code":"X","name":"X","country":"CH","parentId":"7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11"}`, 400, []string{"parent_id"}, "no lab"},
		{"duplicate code", "POST", "/labs", `{"code":"enac-lab1","name":"Again","country":"CH"}`, 409, nil, "already exists"},
		{"malformed JSON", "POST", "/labs", `{"code":`, 400, nil, "invalid request"},
		{"NUL byte in text", "POST", "/labs", `{"code":"NUL","name":"A\u0000B","country":"CH"}`, 400, nil, "invalid"},
		{"wrong JSON type", "POST", "/labs", `{"code":42}`, 400, nil, "invalid request"},
		{"unknown lab", "GET", "/labs/7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11", "", 404, nil, "no lab"},
		{"malformed id", "GET", "/labs/42", "", 400, []string{"id"}, "UUID"},
		{"unknown query parameter", "GET", "/labs?pagesize=2", "", 400, nil, "pagesize"},
		{"bad page size", "GET", "/labs?page_size=lots", "", 400, nil, "page_size"},
		{"negative page size", "GET", "/labs?page_size=-1", "", 400, []string{"page_size"}, "negative"},
		{"foreign page token", "GET", "/labs?page_token=abc", "", 400, []string{"page_token"}, "token"},
		{"unknown mask path", "PATCH", "/labs/" + id + "?update_mask=owner", `{}`, 400, []string{"update_mask"}, "owner"},
		{"empty patch", "PATCH", "/labs/" + id, `{}`, 400, []string{"update_mask"}, "nothing to change"},
		{"own parent", "PATCH", "/labs/" + id, `{"parentId":"` + id + `"}`, 400, []string{"parent_id"}, "own parent"},
		{"replace unknown", "PUT", "/labs/7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11", `{"code":"Y","name":"Y","country":"CH"}`, 404, nil, "no lab"},
		{"delete unknown", "DELETE", "/labs/7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11", "", 404, nil, "no lab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := call(t, "admin", tc.method, api+tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, answer)
			}
			if got := violatedFields(answer); !slices.Equal(got, tc.fields) {
				t.Errorf("field violations %v, want %v", got, tc.fields)
			}
			if message, _ := answer["message"].(string); !strings.Contains(message, tc.says) {
				t.Errorf("message %q does not say %q", message, tc.says)
			}
		})
	}

	// Nothing a client got wrong changed what was stored.
	if got := mustCall(t, 200, "GET", api+"/labs/"+id, ""); got["name"] != "Lab 1" || got["parentId"] != "" {
		t.Fatalf("the lab changed: %v", got)
	}
	if got := labCodes(mustCall(t, 200, "GET", api+"/labs", "")); !slices.Equal(got, []string{"ENAC-LAB1"}) {
		t.Fatalf("stored labs: %v", got)
	}
}
