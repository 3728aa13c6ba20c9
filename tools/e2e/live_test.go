package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event: its name and its data decoded.
type sseEvent struct {
	Name string
	Data map[string]any
}

// openEvents opens GET /api/v1/imports/{id}/events as user with a plain
// HTTP client; the caller closes the body.
func openEvents(t *testing.T, sys *system, user, id string) *http.Response {
	t.Helper()
	return openEventsAt(t, sys, user, "/api/v1/imports/"+id+"/events")
}

// openEventsAt opens the event stream at path as user.
func openEventsAt(t *testing.T, sys *system, user, path string) *http.Response {
	t.Helper()
	request, _ := http.NewRequest(http.MethodGet, sys.Gateway+path, nil)
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	request.Header.Set("Accept", "text/event-stream")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	return response
}

// readEvents parses an event stream, comment lines skipped, calling each
// event in turn until the stream ends or each returns false.
func readEvents(t *testing.T, body io.Reader, each func(sseEvent) bool) {
	t.Helper()
	scanner := bufio.NewScanner(body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	var event sseEvent
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case line == "" && event.Name != "":
			if !each(event) {
				return
			}
			event = sseEvent{}
		case strings.HasPrefix(line, ":"): // a keepalive
		case strings.HasPrefix(line, "event: "):
			event.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &event.Data); err != nil {
				t.Fatalf("event %s: data is not one line of JSON: %q", event.Name, line)
			}
		}
	}
}

// importWatchers is ingest's ingest_import_watchers metric.
func importWatchers(t *testing.T, sys *system) int {
	t.Helper()
	return gauge(t, sys, "ingest", "ingest_import_watchers")
}

// gauge is the value of a service's metric.
func gauge(t *testing.T, sys *system, service, metric string) int {
	t.Helper()
	status, body := get(t, "http://"+sys.addrs[service]+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("%s /metrics: %d", service, status)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, metric) {
			fields := strings.Fields(line)
			value, err := strconv.Atoi(fields[len(fields)-1])
			if err != nil {
				t.Fatalf("metric line %q", line)
			}
			return value
		}
	}
	t.Fatalf("no %s in %s's metrics", metric, service)
	return 0
}

func rowsOf(t *testing.T, data map[string]any, field string) int64 {
	t.Helper()
	value, _ := data[field].(string) // int64 is a JSON string, as in the status
	if value == "" {
		return 0 // protojson leaves zero out
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", field, data[field])
	}
	return n
}

// A member uploads 200,000 rows and follows the import as Server-Sent
// Events with a plain HTTP client: the row count climbs several times while
// it runs, then an end event carries the final object, the same the status
// endpoint answers, and the stream closes. A 50-row file shows its counts
// too; someone outside the lab gets 404.
func TestImportProgressStreamsAsServerSentEvents(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"LIVE","name":"Live lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)

	const rows = 200_000
	status, answer := upload(t, sys, "member", lab, "kind=equipment&year=2025&mode=append", equipmentRows(rows), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	id := importID(t, answer)

	response := openEvents(t, sys, "member", id)
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", response.StatusCode, response.Header.Get("Content-Type"))
	}
	var counts []int64
	var end map[string]any
	started := time.Now()
	readEvents(t, response.Body, func(event sseEvent) bool {
		switch event.Name {
		case "progress":
			processed := rowsOf(t, event.Data, "rowsProcessed")
			if len(counts) > 0 && processed < counts[len(counts)-1] {
				t.Fatalf("the row count went back: %v then %d", counts, processed)
			}
			if processed > 0 && processed < rows && (len(counts) == 0 || processed != counts[len(counts)-1]) {
				counts = append(counts, processed)
			}
			return true
		case "end":
			end = event.Data
			return true // the stream closes after it
		default:
			t.Fatalf("unexpected event %q: %v", event.Name, event.Data)
			return false
		}
	})
	t.Logf("%d rows in %s; row counts seen while running: %v", rows, time.Since(started).Round(time.Millisecond), counts)
	if end == nil {
		t.Fatal("the stream closed without an end event")
	}
	if len(counts) < 3 {
		t.Fatalf("row counts seen while running: %v, want several increasing ones", counts)
	}
	final := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")
	for key := range mergeKeys(end, final) {
		if !reflect.DeepEqual(end[key], final[key]) {
			t.Errorf("%s: end event %v, status %v", key, end[key], final[key])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if end["state"] != "FINISHED" || rowsOf(t, end, "rowsOk") != rows || rowsOf(t, end, "rowsProcessed") != rows {
		t.Fatalf("end: %v", end)
	}

	// 50 rows: the counts are there, even if the job is done before the
	// first progress report.
	status, answer = upload(t, sys, "member", lab, "kind=equipment&year=2024&mode=append", equipmentRows(50), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	small := openEvents(t, sys, "member", importID(t, answer))
	defer small.Body.Close()
	end = nil
	readEvents(t, small.Body, func(event sseEvent) bool {
		if event.Name == "end" {
			end = event.Data
		}
		return true
	})
	if end == nil || rowsOf(t, end, "rowsTotal") != 50 || rowsOf(t, end, "rowsOk") != 50 || rowsOf(t, end, "rowsProcessed") != 50 {
		t.Fatalf("50 rows: end %v", end)
	}

	outsider := openEvents(t, sys, "outsider", id)
	defer outsider.Body.Close()
	var refusal map[string]any
	_ = json.NewDecoder(outsider.Body).Decode(&refusal)
	if outsider.StatusCode != http.StatusNotFound || refusal["message"] == nil {
		t.Fatalf("someone outside the lab: %d %v, want 404 with the error shape", outsider.StatusCode, refusal)
	}
}

// A client that leaves mid-stream leaves no watcher behind in ingest, and
// the gateway's open streams are bounded (SSE_MAX_STREAMS).
func TestALeavingWatcherCostsNothing(t *testing.T) {
	sys := startSystem(t, "SSE_MAX_STREAMS=1", "EXPORT_WORKERS=0")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"LEAVE","name":"Lab","country":"CH"}`)["id"].(string)
	// With no worker the import stays queued: the watch lasts until the
	// client leaves. (A first upload while calc runs has ingest read the
	// kind's template, which it keeps for TEMPLATES_CACHE_TTL.)
	status, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2024", equipmentRows(1), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	sys.stop(t, "calc")
	status, answer = upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentRows(5), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	id := importID(t, answer)

	watching := openEvents(t, sys, "admin", id)
	if watching.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", watching.StatusCode)
	}
	readEvents(t, watching.Body, func(event sseEvent) bool {
		if event.Name != "progress" || event.Data["state"] != "QUEUED" {
			t.Fatalf("first event: %v", event)
		}
		return false
	})
	if n := importWatchers(t, sys); n != 1 {
		t.Fatalf("watchers while watching: %d, want 1", n)
	}
	second := openEvents(t, sys, "admin", id)
	_ = second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stream beyond SSE_MAX_STREAMS: %d, want 503", second.StatusCode)
	}

	_ = watching.Body.Close() // the client leaves
	deadline := time.Now().Add(10 * time.Second)
	for importWatchers(t, sys) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a watcher is still held 10s after its client left")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The gateway's slot is free again.
	again := openEvents(t, sys, "admin", id)
	if again.StatusCode != http.StatusOK {
		t.Fatalf("a stream once the first left: %d", again.StatusCode)
	}
	_ = again.Body.Close()

	// The same for an export, which stays queued with no export worker:
	// reporting holds its watcher while the client watches, and not after.
	export := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/reports/"+lab+"/exports", `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	path := "/api/v1/reports/" + lab + "/exports/" + export + "/events"
	var exportStream *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		exportStream = openEventsAt(t, sys, "admin", path) // the import's slot is freed as its watch ends
		if exportStream.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
		_ = exportStream.Body.Close()
	}
	if exportStream.StatusCode != http.StatusOK {
		t.Fatalf("export events: %d", exportStream.StatusCode)
	}
	readEvents(t, exportStream.Body, func(event sseEvent) bool {
		if event.Name != "progress" || event.Data["status"] != "queued" {
			t.Fatalf("first export event: %v", event)
		}
		return false
	})
	if n := gauge(t, sys, "reporting", "reporting_export_watchers"); n != 1 {
		t.Fatalf("export watchers while watching: %d, want 1", n)
	}
	_ = exportStream.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); gauge(t, sys, "reporting", "reporting_export_watchers") != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an export watcher is still held 10s after its client left")
		}
	}
}

// A member's export followed as Server-Sent Events: events while it is
// queued or running, then an end event whose object is the one GET
// /api/v1/reports/{lab}/exports/{id} answers, done with its rows; the
// stream closes. Someone outside the lab gets 404, as for the GET.
func TestExportProgressStreamsAsServerSentEvents(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"LIVEX","name":"Live export lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	status, answer := upload(t, sys, "manager", lab, "kind=equipment&year=2025&mode=append", equipmentRows(500), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	waitFinished(t, sys, importID(t, answer))

	exports := "/api/v1/reports/" + lab + "/exports"
	id := callAs(t, "manager", 200, "POST", sys.Gateway+exports, `{"year":2025}`)["export"].(map[string]any)["id"].(string)
	response := openEventsAt(t, sys, "manager", exports+"/"+id+"/events")
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", response.StatusCode, response.Header.Get("Content-Type"))
	}
	var seen []string
	var end map[string]any
	readEvents(t, response.Body, func(event sseEvent) bool {
		switch event.Name {
		case "progress":
			status, _ := event.Data["status"].(string)
			if status != "queued" && status != "running" {
				t.Fatalf("a progress event in status %q: %v", status, event.Data)
			}
			seen = append(seen, status)
		case "end":
			if end != nil {
				t.Fatalf("a second end event: %v", event.Data)
			}
			end = event.Data
		default:
			t.Fatalf("unexpected event %q: %v", event.Name, event.Data)
		}
		return true
	})
	t.Logf("statuses before the end: %v", seen)
	if end == nil {
		t.Fatal("the stream closed without an end event")
	}
	final := callAs(t, "manager", 200, "GET", sys.Gateway+exports+"/"+id, "")["export"].(map[string]any)
	for key := range mergeKeys(end, final) {
		if !reflect.DeepEqual(end[key], final[key]) {
			t.Errorf("%s: end event %v, GET %v", key, end[key], final[key])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if end["status"] != "done" || rowsOf(t, end, "rows") == 0 || end["downloadUrl"] == "" {
		t.Fatalf("end: %v", end)
	}

	outsider := openEventsAt(t, sys, "outsider", exports+"/"+id+"/events")
	defer outsider.Body.Close()
	var refusal map[string]any
	_ = json.NewDecoder(outsider.Body).Decode(&refusal)
	if outsider.StatusCode != http.StatusNotFound || refusal["message"] == nil {
		t.Fatalf("someone outside the lab: %d %v, want 404 with the error shape", outsider.StatusCode, refusal)
	}
}

// A lab manager changes the lab's electricity contract and follows the
// recalculation it asks for as Server-Sent Events: the equipment of the year
// is pending first, then an end event with nothing pending and the
// recalculation finished over the year's 50,000 activities, as GET
// /api/v1/labs/{lab}/recalculations lists it. Someone outside the lab gets
// 404; a stream with nothing pending ends at once.
func TestRecalculationsStreamAsServerSentEvents(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"LIVER","name":"Live recalculation lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", api+"/labs/"+lab+"/members", `{"email":"manager@example.com","role":"lab_manager"}`)
	status, answer := upload(t, sys, "manager", lab, "kind=equipment&year=2025&mode=append", equipmentRows(50_000), false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	waitFinished(t, sys, importID(t, answer))

	since := time.Now().UTC().Format(time.RFC3339Nano)
	callAs(t, "manager", 200, "PUT", api+"/labs/"+lab+"/electricity-contracts/2025", contractBody)
	events := "/api/v1/labs/" + lab + "/recalculations/events?year=2025&since=" + since
	response := openEventsAt(t, sys, "manager", events)
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", response.StatusCode, response.Header.Get("Content-Type"))
	}
	pendingSeen := false
	var end map[string]any
	readEvents(t, response.Body, func(event sseEvent) bool {
		pending, _ := event.Data["pending"].([]any)
		switch event.Name {
		case "progress":
			if len(pending) == 0 {
				t.Fatalf("a progress event with nothing pending: %v", event.Data)
			}
			if first := pending[0].(map[string]any); first["kind"] == "equipment" && first["year"] == float64(2025) {
				pendingSeen = true
			}
		case "end":
			if len(pending) != 0 {
				t.Fatalf("an end event with recalculations pending: %v", event.Data)
			}
			end = event.Data
		default:
			t.Fatalf("unexpected event %q: %v", event.Name, event.Data)
		}
		return true
	})
	if !pendingSeen {
		t.Fatal("the equipment's recalculation was never seen pending")
	}
	if end == nil {
		t.Fatal("the stream closed without an end event")
	}
	done, _ := end["recalculations"].([]any)
	listed := callAs(t, "manager", 200, "GET", api+"/labs/"+lab+"/recalculations?year=2025", "")["recalculations"].([]any)
	if len(done) != 1 || len(listed) == 0 || !reflect.DeepEqual(done[0], listed[0]) {
		t.Fatalf("end: %v; listed: %v", end, listed)
	}
	if recalculation := done[0].(map[string]any); recalculation["kind"] != "equipment" || recalculation["state"] != "FINISHED" || recalculation["activities"] != "50000" {
		t.Fatalf("the recalculation: %v", recalculation)
	}

	// Nothing pending any more: one end at once.
	again := openEventsAt(t, sys, "manager", events)
	var names []string
	readEvents(t, again.Body, func(event sseEvent) bool { names = append(names, event.Name); return true })
	_ = again.Body.Close()
	if !reflect.DeepEqual(names, []string{"end"}) {
		t.Fatalf("a stream with nothing pending: %v, want one end", names)
	}
	outsider := openEventsAt(t, sys, "outsider", events)
	defer outsider.Body.Close()
	if outsider.StatusCode != http.StatusNotFound {
		t.Fatalf("someone outside the lab: %d, want 404", outsider.StatusCode)
	}
}

func mergeKeys(a, b map[string]any) map[string]bool {
	keys := map[string]bool{}
	for key := range a {
		keys[key] = true
	}
	for key := range b {
		keys[key] = true
	}
	return keys
}
