package e2e

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// uploadWithForm posts a CSV as a multipart form whose fields come before
// the file, as an HTML form sends them.
func uploadWithForm(t *testing.T, sys *system, user, labID, query, csv string, fields map[string]string) (int, map[string]any) {
	t.Helper()
	var form bytes.Buffer
	writer := multipart.NewWriter(&form)
	for name, value := range fields {
		_ = writer.WriteField(name, value)
	}
	part, _ := writer.CreateFormFile("file", "data.csv")
	_, _ = part.Write([]byte(csv))
	_ = writer.Close()
	request, _ := http.NewRequest(http.MethodPost, sys.Gateway+"/api/v1/labs/"+labID+"/imports?"+query, &form)
	request.Header.Set("Content-Type", writer.FormDataContentType())
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	answer := map[string]any{}
	_ = jsonUnmarshal(raw, &answer)
	return response.StatusCode, answer
}

func TestTheSameFileTwiceIsRefusedUnlessAskedFor(t *testing.T) {
	// No workers: uploads stay queued, which counts as imported.
	sys := startSystem(t, "WORKER_CONCURRENCY=0", "RATE_LIMIT_UPLOAD=1000/1m")
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"DUP-1","name":"Lab","country":"CH"}`)["id"].(string)
	other := mustCall(t, 200, "POST", api+"/labs", `{"code":"DUP-2","name":"Other lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	// One file that passes the header check of two kinds.
	csv := strings.TrimSuffix(equipmentHeader, "\n") + ",departure,arrival,trips,cabin_class,round_trip\n" +
		"PC,it,1,40,60,0,0,GVA,LHR,1,economy,yes\n"
	jobs := func() float64 {
		return queryFloat(t, sys, "SELECT count(*) FROM ingest.data_ingestion_jobs WHERE lab_id = $1", lab)
	}
	accepted := func(user, labID, query string) string {
		t.Helper()
		status, answer := upload(t, sys, user, labID, query, csv, false)
		if status != http.StatusAccepted {
			t.Fatalf("upload %s: %d %v", query, status, answer)
		}
		return importID(t, answer)
	}

	first := accepted("member", lab, "kind=equipment&year=2025")
	firstStatus := mustCall(t, 200, "GET", api+"/imports/"+first+"/status", "")

	// The same file again, by the same member or anyone: 409 naming the
	// first import and its date, and nothing stored.
	for _, user := range []string{"member", "admin"} {
		status, answer := upload(t, sys, user, lab, "kind=equipment&year=2025&mode=replace", csv, false)
		message, _ := answer["message"].(string)
		if status != http.StatusConflict || !strings.Contains(message, first) ||
			!strings.Contains(message, firstStatus["createdAt"].(string)[:10]) || !strings.Contains(message, "allow_duplicate") {
			t.Fatalf("duplicate by %s: %d %v (first import %s of %v)", user, status, answer, first, firstStatus["createdAt"])
		}
	}
	if n := jobs(); n != 1 {
		t.Fatalf("%v jobs after refused duplicates, want 1", n)
	}
	if n := queryFloat(t, sys, "SELECT count(*) FROM ingest.import_file_chunks c JOIN ingest.data_ingestion_jobs j ON j.id = c.job_id WHERE j.lab_id = $1 AND j.id <> $2", lab, first); n != 0 {
		t.Fatalf("%v file pieces of refused duplicates kept", n)
	}

	// Asked for, by query parameter or form field: imported again.
	again := accepted("member", lab, "kind=equipment&year=2025&allow_duplicate=true")
	status, answer := uploadWithForm(t, sys, "member", lab, "kind=equipment&year=2025", csv, map[string]string{"allow_duplicate": "true"})
	if status != http.StatusAccepted {
		t.Fatalf("duplicate with the form field: %d %v", status, answer)
	}
	if again == first || jobs() != 3 {
		t.Fatalf("imports after two allowed duplicates: %v", jobs())
	}
	status, answer = upload(t, sys, "member", lab, "kind=equipment&year=2025&allow_duplicate=maybe", csv, false)
	if status != http.StatusBadRequest || !strings.Contains(answer["message"].(string), "allow_duplicate") {
		t.Fatalf("allow_duplicate=maybe: %d %v", status, answer)
	}

	// Another year, another kind, another lab: not a duplicate.
	accepted("member", lab, "kind=equipment&year=2024")
	accepted("member", lab, "kind=plane&year=2025")
	accepted("admin", other, "kind=equipment&year=2025")

	// A cancelled import does not count: the file may come again.
	cancelled := accepted("member", lab, "kind=equipment&year=2023")
	mustCall(t, 200, "POST", api+"/imports/"+cancelled+":cancel", "")
	accepted("member", lab, "kind=equipment&year=2023")
}
