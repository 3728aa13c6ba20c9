package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

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
	sys := startSystem(t, "IMPORT_LEASE=2s", "POLL_INTERVAL=500ms", "IMPORT_PROGRESS_EVERY=2000")
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
	sys := startSystem(t, "REDIS_URL="+redisURL, "WORKER_CONCURRENCY=0", "POLL_INTERVAL=1s")
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
}

func TestTheSameTaskDeliveredThriceWritesOnce(t *testing.T) {
	redisURL := ownRedisDB(t, 8)
	sys := startSystem(t, "REDIS_URL="+redisURL, "WORKER_CONCURRENCY=0")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"DUP","name":"Lab","country":"CH"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", equipmentRows(2000), false)
	id := importID(t, answer)

	// Two more deliveries of the same job, as a redelivery would make.
	opt, err := jobqueue.RedisOpt(config.SecretURL(redisURL))
	if err != nil {
		t.Fatal(err)
	}
	tasks := jobqueue.New(opt, queueOf(t, sys))
	defer tasks.Close()
	for i := range 2 {
		if _, err := jobqueue.Enqueue(context.Background(), tasks, jobqueue.ProtoKind[ingestv1.ProcessImportTask](), fmt.Sprintf("dup-%d-%s", i, id), &ingestv1.ProcessImportTask{JobId: id}); err != nil {
			t.Fatal(err)
		}
	}
	sys.stop(t, "calc")
	sys.start(t, "calc", "WORKER_CONCURRENCY=3")
	done := waitFinished(t, sys, id)
	time.Sleep(2 * time.Second) // let the duplicates reach the workers too
	if done["result"] != "SUCCESS" || done["attempts"] != 1.0 {
		t.Fatalf("import: %v", done)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", lab); got != 2000 {
		t.Fatalf("%v activities for 2000 rows", got)
	}

	// Running a finished import again finds it written: nothing doubles.
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/imports/"+id+":retry", "")
	again := waitFinished(t, sys, id)
	if again["result"] != "SUCCESS" || again["rowsOk"] != "2000" || !strings.Contains(again["statusMessage"].(string), "earlier attempt") {
		t.Fatalf("retried: %v", again)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1 AND variant = ''", lab); got != 2000 {
		t.Fatalf("%v emissions for 2000 rows", got)
	}
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
