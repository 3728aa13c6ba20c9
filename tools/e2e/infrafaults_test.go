package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// Faults of the infrastructure while imports run. Each test runs the
// system on PostgreSQL or Redis servers of its own when it restarts them,
// so nothing else is disturbed, and ends with every valid row of every file
// counted exactly once.

// faultRows is the size of the files imported while a fault strikes: large
// enough that the import is under way when it does.
const faultRows = 300_000

// mixedEquipmentRows is n rows of which every 1000th is invalid (a
// negative quantity): the valid ones must be counted once, the others
// rejected.
func mixedEquipmentRows(n int) string {
	var b strings.Builder
	b.WriteString(equipmentHeader)
	for i := range n {
		if i%1000 == 999 {
			fmt.Fprintf(&b, "Broken %d,it,-1,40,%d,128,2\n", i, 10+i%90)
			continue
		}
		fmt.Fprintf(&b, "Device %d,it,1,40,%d,128,2\n", i, 10+i%90)
	}
	return b.String()
}

// byHandMixed is the kg CO2e of mixedEquipmentRows(n) in a Swiss lab, and
// its valid rows.
func byHandMixed(n int) (float64, int) {
	total, valid := 0.0, 0
	for i := range n {
		if i%1000 == 999 {
			continue
		}
		total += (40*float64(10+i%90) + 128*2) * 52 / 1000 * 0.097
		valid++
	}
	return total, valid
}

// ownDir is a folder PostgreSQL (run as its own user) can use.
func ownDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

// ownPostgres starts a PostgreSQL server of the test's own; the system the
// test then starts keeps its database there.
func ownPostgres(t *testing.T) *stack.Postgres {
	t.Helper()
	server, err := stack.StartPostgres(context.Background(), ownDir(t, "co2-e2e-pg-"), freePort(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Stop(context.Background()) })
	t.Setenv("DB_URL", server.URL())
	return server
}

// ownRedis runs a Redis server of the test's own; restart kills it and
// starts an empty one on the same port.
func ownRedis(t *testing.T) (url string, stop, start func()) {
	t.Helper()
	dir, port := t.TempDir(), freePort(t)
	var process *stack.Process
	start = func() {
		var err error
		if process, err = stack.StartRedisServer(context.Background(), dir, port, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	stop = func() { process.Kill() }
	start()
	t.Cleanup(func() { process.Kill() })
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port), stop, start
}

// status reads an import's status, whatever the system is going through:
// false when it could not be read.
func status(sys *system, id string) (map[string]any, bool) {
	request, _ := http.NewRequest(http.MethodGet, sys.Gateway+"/api/v1/imports/"+id+"/status", nil)
	request.Header.Set("Authorization", "Bearer "+tokens["admin"])
	client := &http.Client{Timeout: 5 * time.Second}
	response, err := client.Do(request)
	if err != nil {
		return nil, false
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	answer := map[string]any{}
	if response.StatusCode != http.StatusOK || jsonUnmarshal(raw, &answer) != nil {
		return nil, false
	}
	return answer, true
}

// waitUnderWay waits until the import's worker is writing rows.
func waitUnderWay(t *testing.T, sys *system, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, ok := status(sys, id)
		if ok && got["state"] == "RUNNING" && got["rowsProcessed"] != "0" && got["rowsProcessed"] != nil {
			return
		}
		if ok && got["state"] == "FINISHED" || time.Now().After(deadline) {
			t.Fatalf("the import was not caught under way: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEnded waits until the import is FINISHED, reading its status through
// whatever fault is going on.
func waitEnded(t *testing.T, sys *system, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if got, ok := status(sys, id); ok && got["state"] == "FINISHED" {
			return got
		}
		if time.Now().After(deadline) {
			got, _ := status(sys, id)
			t.Fatalf("import %s not finished: %v", id, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countedOnce checks the lab holds each valid row of the file once, and
// its totals are the file's by hand.
func countedOnce(t *testing.T, sys *system, lab string, done map[string]any, rows int) {
	t.Helper()
	kg, valid := byHandMixed(rows)
	activities := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", lab)
	emissions := queryFloat(t, sys, "SELECT count(*) FROM calc.emissions WHERE lab_id = $1 AND variant = ''", lab)
	total := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND variant = ''", lab)
	t.Logf("rows expected %d valid (+%d rejected); counted: %v activities, %v emissions; import says %v ok, %v rejected, %v attempts",
		valid, rows-valid, activities, emissions, done["rowsOk"], done["rowsRejected"], done["attempts"])
	if done["result"] != "WARNING" || done["rowsOk"] != fmt.Sprint(valid) || done["rowsRejected"] != fmt.Sprint(rows-valid) {
		t.Errorf("the import ended %v", done)
	}
	if activities != float64(valid) || emissions != float64(valid) {
		t.Errorf("%v activities and %v emissions for %d valid rows", activities, emissions, valid)
	}
	if !near(total, kg) {
		t.Errorf("the lab's total %.6f kg, by hand %.6f", total, kg)
	}
}

func faultLab(t *testing.T, sys *system, code string) string {
	t.Helper()
	return mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"`+code+`","name":"Lab","country":"CH"}`)["id"].(string)
}

func TestAnImportOutlivesAPostgreSQLRestart(t *testing.T) {
	server := ownPostgres(t)
	sys := startSystem(t, "IMPORT_LEASE=3s", "POLL_INTERVAL=500ms", "IMPORT_RETRY_BACKOFF=1s")
	lab := faultLab(t, sys, "PG-RESTART")
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", mixedEquipmentRows(faultRows), false)
	id := importID(t, answer)
	waitUnderWay(t, sys, id)
	if err := server.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := waitEnded(t, sys, id)
	countedOnce(t, sys, lab, done, faultRows)
	if done["attempts"].(float64) < 2 {
		t.Errorf("the restart did not interrupt the import (attempts %v): the test proves nothing", done["attempts"])
	}
}

func TestImportsOutliveARedisRestartedWithoutItsData(t *testing.T) {
	redisURL, stopRedis, startRedis := ownRedis(t)
	sys := startSystem(t, "REDIS_URL="+redisURL, "IMPORT_LEASE=3s", "POLL_INTERVAL=500ms", "IMPORT_RETRY_BACKOFF=1s")
	lab := faultLab(t, sys, "REDIS-RESTART")
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", mixedEquipmentRows(faultRows), false)
	first := importID(t, answer)
	waitUnderWay(t, sys, first)
	stopRedis()
	// An upload while Redis is away is stored all the same.
	other := faultLab(t, sys, "REDIS-AWAY")
	statusCode, answer := upload(t, sys, "admin", other, "kind=equipment&year=2025", mixedEquipmentRows(5000), false)
	if statusCode != http.StatusAccepted {
		t.Fatalf("an upload while Redis is away: %d %v", statusCode, answer)
	}
	second := importID(t, answer)
	time.Sleep(2 * time.Second)
	startRedis() // empty: every queued task is gone
	countedOnce(t, sys, lab, waitEnded(t, sys, first), faultRows)
	countedOnce(t, sys, other, waitEnded(t, sys, second), 5000)
}

func TestAWorkerShutDownMidImportHandsTheJobBack(t *testing.T) {
	sys := startSystem(t, "IMPORT_LEASE=3s", "POLL_INTERVAL=500ms")
	lab := faultLab(t, sys, "SIGTERM")
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", mixedEquipmentRows(faultRows), false)
	id := importID(t, answer)
	waitUnderWay(t, sys, id)
	sys.stop(t, "calc") // SIGTERM: a rolling update
	handedBack, _ := status(sys, id)
	if handedBack["state"] != "QUEUED" || handedBack["attempts"] != 0.0 || !strings.Contains(fmt.Sprint(handedBack["statusMessage"]), "does not count") {
		t.Fatalf("after the worker shut down: %v, want the job queued again, its attempt not counted", handedBack)
	}
	if got := queryFloat(t, sys, "SELECT count(*) FROM calc.activities WHERE lab_id = $1", lab); got != 0 {
		t.Fatalf("%v activities written by the interrupted attempt", got)
	}
	sys.start(t, "calc")
	done := waitEnded(t, sys, id)
	countedOnce(t, sys, lab, done, faultRows)
	if done["attempts"] != 1.0 {
		t.Errorf("attempts %v: the interrupted one counted", done["attempts"])
	}
}

func TestAFrozenWorkerNeitherBlocksNorWrites(t *testing.T) {
	sys := startSystem(t, "IMPORT_LEASE=2s", "POLL_INTERVAL=500ms")
	lab := faultLab(t, sys, "SIGSTOP")
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", mixedEquipmentRows(faultRows), false)
	id := importID(t, answer)
	waitUnderWay(t, sys, id)
	frozen := sys.processes["calc"]
	if err := frozen.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer frozen.Signal(syscall.SIGCONT) //nolint:errcheck // thawed below already
	// A second worker: once the frozen one's lease expires, it takes the
	// job, though the frozen one still holds its transaction.
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	second, err := stack.Start("calc-2", filepath.Join(binDir, "calc"), nil, append(append([]string{}, sys.env["calc"]...), "LISTEN_ADDR="+addr), sys.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop(10 * time.Second) //nolint:errcheck // test cleanup
	done := waitEnded(t, sys, id)
	// Thawed, the frozen worker finds its session ended and the job
	// another's: it writes nothing.
	if err := frozen.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	after, _ := status(sys, id)
	countedOnce(t, sys, lab, after, faultRows)
	if done["attempts"] != 2.0 || after["attempts"] != 2.0 {
		t.Errorf("attempts %v then %v, want 2", done["attempts"], after["attempts"])
	}
}

func TestAnImportWaitsOutALabsOutage(t *testing.T) {
	sys := startSystem(t, "WORKER_CONCURRENCY=0", "POLL_INTERVAL=500ms", "IMPORT_RETRY_BACKOFF=2s")
	lab := faultLab(t, sys, "LABS-DOWN")
	_, answer := upload(t, sys, "admin", lab, "kind=equipment&year=2025", mixedEquipmentRows(20_000), false)
	id := importID(t, answer)
	sys.stop(t, "labs")
	sys.stop(t, "calc")
	sys.start(t, "calc", "WORKER_CONCURRENCY=2")
	// The worker cannot learn the lab's country: the job is handed back,
	// its attempt counted, and nothing is held meanwhile.
	deadline := time.Now().Add(30 * time.Second)
	for {
		message := queryText(t, sys, "SELECT status_message FROM ingest.data_ingestion_jobs WHERE id = $1", id)
		if strings.Contains(message, "passing fault") {
			t.Logf("while labs is down: %s", message)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job was not handed back while labs is down: %q", message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := idleInTransaction(t, sys); n != 0 {
		t.Errorf("%d sessions idle in a transaction while labs is down", n)
	}
	sys.start(t, "labs")
	done := waitEnded(t, sys, id)
	countedOnce(t, sys, lab, done, 20_000)
	if done["attempts"].(float64) < 2 {
		t.Errorf("attempts %v: the outage did not reach the worker", done["attempts"])
	}
}

func queryText(t *testing.T, sys *system, sql string, args ...any) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var value string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&value); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return value
}
