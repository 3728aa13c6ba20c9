package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// ownRedisDB returns a REDIS_URL on a database of its own, so a test may
// flush it without touching anyone else's.
func ownRedisDB(t *testing.T, db int) string {
	t.Helper()
	base := os.Getenv("REDIS_URL")
	if base == "" {
		base = "redis://127.0.0.1:6379/0"
	}
	parsed, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Path = fmt.Sprintf("/%d", db)
	return parsed.String()
}

func equipmentRows(n int) string {
	var b strings.Builder
	b.WriteString(equipmentHeader)
	for i := range n {
		fmt.Fprintf(&b, "Device %d,it,1,40,%d,128,2\n", i, 10+i%90)
	}
	return b.String()
}

// byHandEquipment is the kg CO2e of equipmentRows(n) in a Swiss lab.
func byHandEquipment(n int) float64 {
	total := 0.0
	for i := range n {
		total += (40*float64(10+i%90) + 128*2) * 52 / 1000 * 0.097
	}
	return total
}

func TestAWorkerKilledMidJobIsReplacedAndWritesOnce(t *testing.T) {
	sys := startSystem(t, "IMPORT_LEASE=2s", "POLL_INTERVAL=500ms")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"KILL","name":"Lab","country":"CH"}`)["id"].(string)
	const rows = 300_000
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentRows(rows), false)
	id := importID(t, answer)

	// Kill the worker once it is under way.
	deadline := time.Now().Add(60 * time.Second)
	for {
		status := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", "")
		if status["state"] == "RUNNING" {
			break
		}
		if status["state"] == "FINISHED" || time.Now().After(deadline) {
			t.Fatalf("the job was not caught running: %v", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	sys.kill("calc")
	if status := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", ""); status["state"] != "RUNNING" {
		t.Fatalf("killed too late to test anything: %v", status)
	}
	sys.start(t, "calc")

	done := waitFinished(t, sys, id)
	if done["result"] != "SUCCESS" || done["rowsOk"] != fmt.Sprint(rows) || done["attempts"] != 2.0 {
		t.Fatalf("after the crash: %v", done)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", lab); got != rows {
		t.Fatalf("%v activities for %d rows", got, rows)
	}
	if got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab); !near(got, byHandEquipment(rows)) {
		t.Fatalf("kg %.6f, by hand %.6f", got, byHandEquipment(rows))
	}
}

func TestALostQueueIsRebuiltByThePoller(t *testing.T) {
	redisURL := ownRedisDB(t, 7)
	spans, env := startCollector(t)
	sys := startSystem(t, append(env, "REDIS_URL="+redisURL, "WORKER_CONCURRENCY=0", "POLL_INTERVAL=1s")...)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"FLUSH","name":"Lab","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentRows(500), false)
	id := importID(t, answer)

	options, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(options)
	defer rdb.Close()
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	queue := queueOf(t, sys)
	if _, err := inspector.GetTaskInfo(queue, id); err != nil {
		t.Fatalf("the task should be queued: %v", err)
	}
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := inspector.GetTaskInfo(queue, id); err == nil {
		t.Fatal("the flush left the task")
	}
	// PostgreSQL still says QUEUED: with the task gone, only the poller
	// can bring workers to the job.
	sys.stop(t, "calc")
	sys.start(t, "calc", "WORKER_CONCURRENCY=2")
	if done := waitFinished(t, sys, id); done["result"] != "SUCCESS" || done["rowsOk"] != "500" {
		t.Fatalf("after the flush: %v", done)
	}
	if got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab); !near(got, byHandEquipment(500)) {
		t.Fatalf("kg %.6f, by hand %.6f", got, byHandEquipment(500))
	}

	// The job ran in a trace of the poller's own, which links to the
	// upload's: the request that made the job.
	conn, err := pgx.Connect(context.Background(), sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var traceParent string
	if err := conn.QueryRow(context.Background(), "SELECT trace_parent FROM ingest.data_ingestion_jobs WHERE id = $1", id).Scan(&traceParent); err != nil {
		t.Fatal(err)
	}
	upload := strings.Split(traceParent, "-")
	if len(upload) != 4 {
		t.Fatalf("the job's trace %q", traceParent)
	}
	spans.waitForSpans(t, upload[1], spanMatch{what: "the upload", service: "gateway", kind: tracepb.Span_SPAN_KIND_SERVER, name: "POST /api/v1/labs/{id}/imports"})
	var worker span
	waitUntil(t, 20*time.Second, "the worker's span", func() bool {
		at := slices.IndexFunc(spans.all(), func(s span) bool {
			return s.service == "calc" && s.kind == tracepb.Span_SPAN_KIND_CONSUMER && strings.Contains(s.attrs["messaging.message.id"], id)
		})
		if at >= 0 {
			worker = spans.all()[at]
		}
		return at >= 0
	})
	if worker.traceID == upload[1] {
		t.Fatalf("the requeued job ran in the upload's trace: %s", worker)
	}
	requeue := spans.waitForSpans(t, worker.traceID, spanMatch{what: "the poller's requeue", service: "ingest", name: "requeue import"})[0]
	if requeue.parentID != "" || !slices.Contains(requeue.links, upload[1]) {
		t.Fatalf("the requeue does not link to the upload's trace %s: %s, links %v", upload[1], requeue, requeue.links)
	}
}

// holdCommits makes every transaction of the system's database that
// records an applied import wait, when it commits, until release is called:
// a deferred constraint trigger (in this test's own database) takes an
// advisory lock the test holds. It returns release and a function counting
// the backends waiting at such a commit.
func holdCommits(t *testing.T, sys *system) (release func(), waiting func() int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	const key = "4242, 1" // the two-int4 space: no collision with the services' int8 keys
	for _, statement := range []string{
		"SELECT pg_advisory_lock(" + key + ")",
		`CREATE FUNCTION public.e2e_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN PERFORM pg_advisory_xact_lock(` + key + `); RETURN NULL; END $$`,
		`CREATE CONSTRAINT TRIGGER e2e_hold_commit AFTER UPDATE ON calc.applied_imports
		 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.e2e_hold_commit()`,
	} {
		if _, err := conn.Exec(ctx, statement); err != nil {
			t.Fatalf("%s: %v", statement, err)
		}
	}
	release = func() {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock("+key+")"); err != nil {
			t.Fatal(err)
		}
	}
	waiting = func() int {
		return int(queryFloat(t, sys, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query ILIKE 'commit%'`))
	}
	return release, waiting
}

// waitUntil polls condition every 50 ms until it holds, failing the test
// with what after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, condition func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !condition(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// The same job is delivered twice at once and then, its lease lost, to a
// second calc process while the first worker's transaction is still open:
// both workers reach calc.applied_imports together. The first worker is
// held at its commit (holdCommits) and frozen there, as a long pause would
// freeze it; its lease runs out; the poller hands the job to the second
// process, whose insert into applied_imports waits on the first's row. The
// first then commits. Every valid row must be counted once: the second
// worker finds the import applied and writes nothing.
func TestTheSameJobOnTwoWorkersAtOnceWritesOnce(t *testing.T) {
	redisURL := ownRedisDB(t, 8)
	sys := startSystem(t, "REDIS_URL="+redisURL, "WORKER_CONCURRENCY=0", "IMPORT_LEASE=2s", "POLL_INTERVAL=500ms")
	release, waitingAtCommit := holdCommits(t, sys)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"DUP","name":"Lab","country":"CH"}`)["id"].(string)
	const rows, rejectEvery = 2000, 50
	var file strings.Builder
	file.WriteString(equipmentHeader)
	valid, kg := 0, 0.0
	for i := range rows {
		if i%rejectEvery == rejectEvery-1 {
			fmt.Fprintf(&file, "Broken %d,it,1,40,many,128,2\n", i)
			continue
		}
		fmt.Fprintf(&file, "Device %d,it,1,40,%d,128,2\n", i, 10+i%90)
		valid++
		kg += (40*float64(10+i%90) + 128*2) * 52 / 1000 * 0.097
	}
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", file.String(), false)
	id := importID(t, answer)

	// A second delivery of the same task beside the first, as a redelivery
	// would make: the first process's two workers take both at once.
	opt, err := jobqueue.RedisOpt(config.SecretURL(redisURL))
	if err != nil {
		t.Fatal(err)
	}
	queue := jobqueue.New(opt, queueOf(t, sys))
	defer queue.Close()
	if _, err := jobqueue.Enqueue(context.Background(), queue, jobqueue.ProtoKind[ingestv1.ProcessImportTask](), "dup-"+id, &ingestv1.ProcessImportTask{JobId: id}); err != nil {
		t.Fatal(err)
	}
	sys.stop(t, "calc")
	sys.start(t, "calc", "WORKER_CONCURRENCY=2")
	first := sys.processes["calc"]
	t.Cleanup(func() { _ = first.Resume() }) // before the system stops it

	// The first worker has written every row and waits at its commit;
	// frozen there, it stops renewing its lease.
	waitUntil(t, 30*time.Second, "no worker waits at its commit", func() bool { return waitingAtCommit() == 1 })
	if err := first.Pause(); err != nil {
		t.Fatal(err)
	}
	sys.startReplica(t, "calc", "calc-2", "WORKER_CONCURRENCY=2")
	waitUntil(t, 30*time.Second, "the second worker never waited at applied_imports", func() bool {
		return queryFloat(t, sys, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO calc.applied_imports%'`) == 1
	})
	if status := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+id+"/status", ""); status["state"] != "RUNNING" || status["attempts"] != 2.0 {
		t.Fatalf("the second worker should hold the job now: %v", status)
	}

	// The first worker's commit goes through; then it wakes up.
	release()
	done := waitFinished(t, sys, id)
	if err := first.Resume(); err != nil {
		t.Fatal(err)
	}
	written := func() {
		t.Helper()
		for what, query := range map[string]string{
			"activities":                     "SELECT count(*) FROM calc.activities WHERE lab_id = $1",
			"distinct rows":                  "SELECT count(DISTINCT row_no) FROM calc.activities WHERE lab_id = $1",
			"emissions in the totals":        "SELECT count(*) FROM calc.emissions WHERE lab_id = $1 AND variant = ''",
			"activities counted for the lab": "SELECT sum(activities) FROM calc.activity_counts WHERE lab_id = $1",
			"entries in the totals' rollups": "SELECT sum(entries) FROM calc.rollups WHERE lab_id = $1 AND variant = ''",
		} {
			if got := queryFloat(t, sys, query, lab); got != float64(valid) {
				t.Fatalf("%v %s for %d valid rows", got, what, valid)
			}
		}
		if got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab); !near(got, kg) {
			t.Fatalf("kg %.6f in the totals, by hand %.6f", got, kg)
		}
	}
	written()
	// The job reports the first worker's counts, found by the second.
	if done["result"] != "WARNING" || done["rowsOk"] != fmt.Sprint(valid) || done["rowsRejected"] != fmt.Sprint(rows-valid) ||
		!strings.Contains(done["statusMessage"].(string), "earlier attempt") {
		t.Fatalf("import: %v", done)
	}

	// Running the finished import again finds it written: nothing doubles.
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/imports/"+id+":retry", "")
	again := waitFinished(t, sys, id)
	if again["rowsOk"] != fmt.Sprint(valid) || !strings.Contains(again["statusMessage"].(string), "earlier attempt") {
		t.Fatalf("retried: %v", again)
	}
	written()
}

// queueOf is the asynq queue the system's services use.
func queueOf(t *testing.T, sys *system) string {
	t.Helper()
	for _, variable := range sys.env["calc"] {
		if name, found := strings.CutPrefix(variable, "IMPORT_QUEUE="); found {
			return name
		}
	}
	t.Fatal("no IMPORT_QUEUE")
	return ""
}
