package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// upload posts a CSV the way a user does, as text/csv (or as a multipart
// form when multipartForm is set).
func upload(t *testing.T, sys *system, user, labID, query, csv string, multipartForm bool) (int, map[string]any) {
	t.Helper()
	var body io.Reader = strings.NewReader(csv)
	contentType := "text/csv"
	if multipartForm {
		var form bytes.Buffer
		writer := multipart.NewWriter(&form)
		part, _ := writer.CreateFormFile("file", "data.csv")
		_, _ = part.Write([]byte(csv))
		_ = writer.Close()
		body, contentType = &form, writer.FormDataContentType()
	}
	request, _ := http.NewRequest(http.MethodPost, sys.Gateway+"/api/v1/labs/"+labID+"/imports?"+query, body)
	request.Header.Set("Content-Type", contentType)
	request.Header.Set("Authorization", "Bearer "+tokens[user])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	answer := map[string]any{}
	raw, _ := io.ReadAll(response.Body)
	_ = jsonUnmarshal(raw, &answer)
	if response.StatusCode == http.StatusAccepted && response.Header.Get("Location") == "" {
		t.Fatal("202 without a Location")
	}
	return response.StatusCode, answer
}

// waitFinished polls an import's status until it is FINISHED.
func waitFinished(t *testing.T, sys *system, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		status := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")
		if status["state"] == "FINISHED" {
			return status
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s not finished: %v", id, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func importID(t *testing.T, answer map[string]any) string {
	t.Helper()
	imp, ok := answer["import"].(map[string]any)
	if !ok {
		t.Fatalf("no import in %v", answer)
	}
	return imp["id"].(string)
}

// queryFloat runs a query returning one number against the system's database.
func queryFloat(t *testing.T, sys *system, sql string, args ...any) float64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var value *float64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&value); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if value == nil {
		return 0
	}
	return *value
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

const equipmentHeader = "equipment_name,category,quantity,active_hours_per_week,active_power_w,standby_hours_per_week,standby_power_w\n"

func TestImportComputesExactEmissions(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"IMP-CH","name":"Lab in Switzerland","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)

	// A member imports, with a BOM and ';' as a spreadsheet writes them.
	csv := "\xEF\xBB\xBF" + strings.ReplaceAll(equipmentHeader, ",", ";") +
		"Ultra-low freezer;scientific;1;168;350;0;0\r\n" +
		"Desktop PC;it;10;40;60;128;2\r\n"
	status, answer := upload(t, sys, "member", lab, "kind=equipment&year=2025&mode=append", csv, false)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	done := waitFinished(t, sys, importID(t, answer))
	if done["result"] != "SUCCESS" || done["rowsOk"] != "2" || done["rowsRejected"] != "0" || done["attempts"] != 1.0 {
		t.Fatalf("equipment import: %v", done)
	}
	// By hand: kWh = quantity × (active h × W + standby h × W) × 52 / 1000,
	// times 0.097 kg/kWh (Swiss consumption mix, the lab's country).
	freezer := 1 * (168*350 + 0*0) * 52 / 1000.0 * 0.097
	pcs := 10 * (40*60 + 128*2) * 52 / 1000.0 * 0.097
	got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND year = 2025 AND module = 'equipment' AND scope = 2 AND variant = ''", lab)
	if !near(got, freezer+pcs) {
		t.Fatalf("equipment rollup %.10f kg, by hand %.10f", got, freezer+pcs)
	}
	if version := queryFloat(t, sys, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1 AND factor_dataset = 'default' AND factor_version = '2026.2' AND factor_id IS NOT NULL", lab); version != 4 {
		// Two rows, each location- and market-based.
		t.Fatalf("emissions with their factor recorded: %v", version)
	}

	// A flight file, as a multipart form: Geneva–London, two round trips.
	status, answer = upload(t, sys, "member", lab, "kind=plane&year=2025", "departure,arrival,trips,cabin_class,round_trip\nGVA,LHR,2,economy,yes\n", true)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, answer)
	}
	done = waitFinished(t, sys, importID(t, answer))
	if done["result"] != "SUCCESS" || done["rowsOk"] != "1" {
		t.Fatalf("plane import: %v", done)
	}
	// By hand: haversine between the bundled coordinates, + 95 km, short-haul
	// (under 3700 km, two countries), × 4 legs × the BEIS economy factor.
	const radians = math.Pi / 180
	lat1, lon1, lat2, lon2 := 46.2381*radians, 6.1090*radians, 51.4706*radians, -0.4619*radians
	h := math.Pow(math.Sin((lat2-lat1)/2), 2) + math.Cos(lat1)*math.Cos(lat2)*math.Pow(math.Sin((lon2-lon1)/2), 2)
	km := 2*6371*math.Asin(math.Sqrt(h)) + 95
	withRF, withoutRF := km*4*0.15102, km*4*0.07984
	if got := queryFloat(t, sys, "SELECT kg_co2e FROM calc.rollups WHERE lab_id = $1 AND module = 'professional_travel' AND variant = ''", lab); !near(got, withRF) {
		t.Fatalf("flights with RF %.10f, by hand %.10f", got, withRF)
	}
	if got := queryFloat(t, sys, "SELECT kg_co2e FROM calc.rollups WHERE lab_id = $1 AND module = 'professional_travel' AND variant = 'without_rf'", lab); !near(got, withoutRF) {
		t.Fatalf("flights without RF %.10f, by hand %.10f", got, withoutRF)
	}

	// The lab's imports, newest first.
	list := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "")
	imports, _ := list["imports"].([]any)
	if len(imports) != 2 || imports[0].(map[string]any)["kind"] != "plane" {
		t.Fatalf("imports: %v", list)
	}
}

func TestRejectedRowsAreReportedWithRowColumnAndMessage(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"IMP-GB","name":"Lab in Britain","country":"GB"}`)["id"].(string)
	csv := equipmentHeader +
		"Freezer,scientific,1,168,350,0,0\n" + // line 2: fine
		"Oven,scientific,1,200,10,0,0\n" + // line 3: too many hours
		"Laser,scientific,1,10,-5,0,0\n" + // line 4: negative power
		"Printer,office,1,10,50,0,0\n" + // line 5: unknown category
		"Ragged,it,1\n" + // line 6: too few fields
		"Lamp,other,1,100,10,100,1\n" + // line 7: 200 hours a week
		"\"Quoted, with\nnewline\",it,2,10,100,0,0\n" // lines 8-9: fine
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2024", csv, false)
	id := importID(t, answer)
	done := waitFinished(t, sys, id)
	if done["result"] != "WARNING" || done["rowsTotal"] != "7" || done["rowsOk"] != "2" || done["rowsRejected"] != "5" {
		t.Fatalf("import: %v", done)
	}
	errors := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/errors?page_size=2", "")
	page1, _ := errors["errors"].([]any)
	token, _ := errors["nextPageToken"].(string)
	page2, _ := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/errors?page_size=10&page_token="+token, "")["errors"].([]any)
	var got []string
	for _, rowErr := range append(page1, page2...) {
		e := rowErr.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v", e["row"], e["column"]))
	}
	want := "[3:active_hours_per_week 4:active_power_w 5:category 6: 7:standby_hours_per_week]"
	if fmt.Sprint(got) != want || token == "" {
		t.Fatalf("errors %v, want %s", got, want)
	}
	// GB electricity for the two good rows: the latest factor before 2024
	// (DESNZ 2023).
	byHand := (168*350/1000.0*52 + 2*10*100/1000.0*52) * 0.20707
	if got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.emissions WHERE lab_id = $1 AND variant = ''", lab); !near(got, byHand) {
		t.Fatalf("kg %.10f, by hand %.10f", got, byHand)
	}
	// What an operator watches: the import, its rows and its duration, by
	// kind and result, at ingest's /metrics.
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ingest_imports_total", []string{`kind="equipment"`, `result="WARNING"`}, 1},
		{"ingest_import_rows_total", []string{`kind="equipment"`, `outcome="imported"`}, 2},
		{"ingest_import_rows_total", []string{`kind="equipment"`, `outcome="rejected"`}, 5},
		{"ingest_import_duration_seconds_count", []string{`kind="equipment"`, `result="WARNING"`}, 1},
	} {
		if got := metricSum(t, sys, "ingest", m.name, m.labels...); got != m.want {
			t.Errorf("%s%v: %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}

// metricSum adds up the samples of a service's metric whose labels include
// every one of labels (`key="value"`).
func metricSum(t *testing.T, sys *system, service, name string, labels ...string) float64 {
	t.Helper()
	status, body := get(t, "http://"+sys.addrs[service]+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("%s /metrics: %d", service, status)
	}
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		matches := true
		for _, label := range labels {
			matches = matches && strings.Contains(line, label)
		}
		if matches {
			fields := strings.Fields(line)
			value, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q", line)
			}
			sum += value
		}
	}
	return sum
}

func TestUploadsWithABadHeaderAreRefusedWithNothingStored(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"IMP-FR","name":"Lab in France","country":"FR"}`)["id"].(string)
	cases := []struct {
		name, query, csv string
		status           int
		says             string
	}{
		{"unknown kind", "kind=boat&year=2025", equipmentHeader, 400, "equipment, ferry, member, plane"},
		{"no kind", "year=2025", equipmentHeader, 400, "kind"},
		{"bad year", "kind=equipment&year=1890", equipmentHeader, 400, "year"},
		{"no year", "kind=equipment", equipmentHeader, 400, "year"},
		{"bad mode", "kind=equipment&year=2025&mode=merge", equipmentHeader, 400, "mode"},
		{"missing columns", "kind=equipment&year=2025", "equipment_name,category\nA,it\n", 400, "active_hours_per_week, active_power_w"},
		{"not UTF-8", "kind=equipment&year=2025", "equipment_name,cat\xe9gory\n", 400, "UTF-8"},
		{"not UTF-8 further down", "kind=equipment&year=2025", equipmentHeader + "Fr\xe9ezer,it,1,1,1,0,0\n", 400, "line 2"},
		{"empty", "kind=equipment&year=2025", "", 400, "empty"},
		{"outsider", "kind=equipment&year=2025", equipmentHeader, 404, "no lab"},
		{"auditor", "kind=equipment&year=2025", equipmentHeader, 403, "adding activity data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := "admin"
			if tc.name == "outsider" || tc.name == "auditor" {
				user = tc.name
			}
			status, answer := upload(t, sys, user, lab, tc.query, tc.csv, false)
			if status != tc.status || !strings.Contains(fmt.Sprint(answer["message"]), tc.says) {
				t.Fatalf("%d %v, want %d saying %q", status, answer, tc.status, tc.says)
			}
		})
	}
	if imports, _ := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "")["imports"].([]any); len(imports) != 0 {
		t.Fatalf("stored: %v", imports)
	}
	if chunks := queryFloat(t, sys, "SELECT count(*) FROM ingest.import_file_chunks"); chunks != 0 {
		t.Fatalf("%v file chunks stored", chunks)
	}
}

func TestReplaceReplacesAndAppendAdds(t *testing.T) {
	sys := startSystem(t, "IMPORT_ANALYZE_AFTER_ROWS=2")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"IMP-R","name":"Lab","country":"CH"}`)["id"].(string)
	run := func(mode, csv string) {
		_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025&mode="+mode, csv, false)
		if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
			t.Fatalf("%s: %v", mode, done)
		}
	}
	entries := func() float64 {
		return queryFloat(t, sys, "SELECT sum(entries) FROM calc.rollups WHERE lab_id = $1 AND year = 2025 AND variant = ''", lab)
	}
	twoRows := equipmentHeader + "A,it,1,10,10,0,0\nB,it,1,10,10,0,0\n"
	run("append", twoRows)
	run("append&allow_duplicate=true", twoRows) // the same file again, asked for
	if got := entries(); got != 4 {
		t.Fatalf("after two appends: %v entries", got)
	}
	// Imports of IMPORT_ANALYZE_AFTER_ROWS rows or more leave the planner
	// statistics of what they wrote (reltuples is -1 until an ANALYZE); it
	// runs once the job is finished, so it may come just after.
	analyzed := func() bool {
		return queryFloat(t, sys, "SELECT min(reltuples)::float8 FROM pg_class WHERE oid IN ('calc.activities'::regclass, 'calc.emissions'::regclass)") >= 0
	}
	for deadline := time.Now().Add(10 * time.Second); !analyzed(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("activities and emissions were not analyzed after imports of 2 rows with IMPORT_ANALYZE_AFTER_ROWS=2")
		}
	}
	run("replace", equipmentHeader+"C,it,1,10,10,0,0\n")
	if got := entries(); got != 1 {
		t.Fatalf("after replace: %v entries", got)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", lab); got != 1 {
		t.Fatalf("activities after replace: %v", got)
	}
}

func TestCancelAndRetry(t *testing.T) {
	// No workers: jobs stay queued until cancelled.
	sys := startSystem(t, "WORKER_CONCURRENCY=0")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"IMP-C","name":"Lab","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+"A,it,1,10,10,0,0\n", false)
	id := importID(t, answer)
	if state := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")["state"]; state != "QUEUED" {
		t.Fatalf("state %v", state)
	}
	cancelled := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/imports/"+id+":cancel", "")
	if cancelled["state"] != "FINISHED" || cancelled["result"] != "ERROR" || !strings.Contains(cancelled["statusMessage"].(string), "cancelled") {
		t.Fatalf("cancelled: %v", cancelled)
	}
	mustCall(t, 400, "POST", sys.Gateway+"/api/v1/imports/"+id+":cancel", "")
	// Ended by its cancellation, with no worker: counted all the same.
	if got := metricSum(t, sys, "ingest", "ingest_imports_total", `ended_by="cancel"`, `kind="equipment"`, `result="ERROR"`); got != 1 {
		t.Fatalf("imports ended by a cancellation: %v, want 1", got)
	}
	if retried := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/imports/"+id+":retry", ""); retried["state"] != "QUEUED" || retried["result"] != "" {
		t.Fatalf("retried: %v", retried)
	}
	mustCall(t, 400, "POST", sys.Gateway+"/api/v1/imports/"+id+":retry", "")
	// Workers arrive: the retried job runs.
	sys.stop(t, "calc")
	sys.start(t, "calc", "WORKER_CONCURRENCY=2")
	if done := waitFinished(t, sys, id); done["result"] != "SUCCESS" {
		t.Fatalf("after retry: %v", done)
	}
	if got := metricSum(t, sys, "ingest", "ingest_imports_total", `ended_by="worker"`, `result="SUCCESS"`); got != 1 {
		t.Fatalf("imports ended by a worker: %v, want 1", got)
	}
	// Someone outside the lab learns nothing of it.
	status, _ := call(t, "outsider", "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")
	if status != http.StatusNotFound {
		t.Fatalf("outsider: %d", status)
	}
}

func TestEveryTemplateImportsCleanly(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_UPLOAD=1000/1m")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"TPL","name":"Lab","country":"GB"}`)["id"].(string)
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	templates, _ := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/templates", "")["templates"].([]any)
	if len(templates) < 2 {
		t.Fatalf("templates: %v", templates)
	}
	for _, listed := range templates {
		kind := listed.(map[string]any)["kind"].(string)
		template := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/templates/"+kind, "")
		columns, _ := template["columns"].([]any)
		if template["module"] == "" || len(columns) == 0 {
			t.Fatalf("%s: %v", kind, template)
		}
		status, answer := upload(t, sys, "member", lab, "kind="+kind+"&year=2025", template["csv"].(string), false)
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %v", kind, status, answer)
		}
		if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" || done["rowsOk"] != "1" {
			t.Fatalf("%s template: %v", kind, done)
		}
	}
	status, answer := call(t, "member", "GET", sys.Gateway+"/api/v1/templates/boat", "")
	if status != http.StatusNotFound || !strings.Contains(answer["message"].(string), "equipment") {
		t.Fatalf("unknown kind: %d %v", status, answer)
	}
}

func TestOneTraceFromTheUploadToTheWorker(t *testing.T) {
	spans, env := startCollector(t)
	sys := startSystem(t, env...)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"TRACE","name":"Lab","country":"CH"}`)["id"].(string)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	request, _ := http.NewRequest(http.MethodPost, sys.Gateway+"/api/v1/labs/"+lab+"/imports?kind=equipment&year=2025", strings.NewReader(equipmentHeader+"A,it,1,10,10,0,0\n"))
	request.Header.Set("Authorization", "Bearer "+tokens["admin"])
	request.Header.Set("Content-Type", "text/csv")
	// A caller's trace context: the gateway, the public edge, links it and
	// starts a trace of its own, which it names in X-Trace-Id.
	request.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	trace := response.Header.Get("X-Trace-Id")
	if len(trace) != 32 || trace == traceID {
		t.Fatalf("X-Trace-Id %q: want a trace of the gateway's own, not the caller's %s", trace, traceID)
	}
	answer := map[string]any{}
	raw, _ := io.ReadAll(response.Body)
	response.Body.Close()
	_ = jsonUnmarshal(raw, &answer)
	waitFinished(t, sys, importID(t, answer))

	// One trace from the gateway through ingest and the queue to the calc
	// worker, its SQL and its report back to ingest.
	found := spans.waitForSpans(t, trace,
		spanMatch{what: "the gateway's request, named by its route", service: "gateway", kind: tracepb.Span_SPAN_KIND_SERVER, name: "POST /api/v1/labs/{id}/imports"},
		spanMatch{what: "ingest serving the upload", service: "ingest", kind: tracepb.Span_SPAN_KIND_SERVER, name: "co2.ingest.v1.*"},
		spanMatch{what: "ingest queueing the task", service: "ingest", kind: tracepb.Span_SPAN_KIND_PRODUCER, name: "enqueue *"},
		spanMatch{what: "the calc worker's task", service: "calc", kind: tracepb.Span_SPAN_KIND_CONSUMER},
		spanMatch{what: "the worker's SQL", service: "calc", kind: tracepb.Span_SPAN_KIND_CLIENT, attr: "db.system.name"},
		spanMatch{what: "the worker finishing the job", service: "calc", kind: tracepb.Span_SPAN_KIND_CLIENT, name: "*/FinishJob"},
		spanMatch{what: "ingest recording the job finished", service: "ingest", kind: tracepb.Span_SPAN_KIND_SERVER, name: "*/FinishJob"},
	)
	gateway, producer, consumer := found[0], found[2], found[3]
	if consumer.parentID != producer.spanID {
		t.Fatalf("the worker's span is not the enqueue's child: %s, %s", consumer, producer)
	}
	if gateway.parentID != "" || !slices.Contains(gateway.links, traceID) {
		t.Fatalf("the gateway's span continues the caller's trace instead of linking it: %s, links %v", gateway, gateway.links)
	}
	// Its log lines carry the same trace.
	for _, line := range strings.Split(sys.logs.String(), "\n") {
		if strings.HasPrefix(line, "calc") && strings.Contains(line, `"msg":"import started"`) {
			if !strings.Contains(line, `"trace_id":"`+trace+`"`) {
				t.Fatalf("the worker logged in another trace: %s", line)
			}
			return
		}
	}
	t.Fatal("no worker log line for the import")
}

// A lab in a country the factors in force have no grid factor for: each
// row is refused with the country and the regions there are, not the whole
// job with a message no row carries.
func TestRowsWithoutAFactorAreRefusedOneByOne(t *testing.T) {
	sys := startSystem(t)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"NOFACTOR","name":"Lab in Liechtenstein","country":"LI"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentHeader+"PC,it,1,40,60,0,0\nScreen,it,2,40,30,0,0\n", false)
	id := importID(t, answer)
	done := waitFinished(t, sys, id)
	if done["result"] != "ERROR" || done["rowsTotal"] != "2" || done["rowsRejected"] != "2" {
		t.Fatalf("import: %v", done)
	}
	errors := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/errors", "")["errors"].([]any)
	if len(errors) != 2 {
		t.Fatalf("errors: %v", errors)
	}
	for _, e := range errors {
		message := e.(map[string]any)["message"].(string)
		if !strings.Contains(message, `region "LI"`) || !strings.Contains(message, "AE, AF") || !strings.Contains(message, "more") {
			t.Fatalf("the refusal does not say which country lacks a factor, nor which have one: %q", message)
		}
	}
}
