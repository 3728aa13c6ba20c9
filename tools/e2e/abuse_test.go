package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hostile requests any signed-in user (here the outsider, who holds no
// role anywhere, or a lab's own member) can send. Each gets a clear
// refusal; each costs every process a bounded amount of memory, measured
// as the peak resident memory it reached while the request was served;
// nothing dies.

// memoryBound is the most any process may hold resident while one
// hostile request is served: well inside the chart's smallest memory
// limit (256 Mi).
const memoryBound = 160 << 20

// abuseEnv makes the system's limits small enough to reach quickly.
var abuseEnv = []string{
	"MAX_UPLOAD_BYTES=8388608", "BODY_IDLE_TIMEOUT=2s", "RATE_LIMIT_ANONYMOUS=5/1m",
	"RATE_LIMIT_UPLOAD=1000/1m", "RATE_LIMIT_WRITE=1000/1m", "RATE_LIMIT_READ=10000/1m",
}

// bomb is gzip of size bytes: a JSON lab whose name is size 'a's.
var bomb = sync.OnceValue(func() []byte { return gzipOf(`{"code":"BOMB","country":"CH","name":"`, 'a', 300<<20, `"}`) })

// gzipOf compresses prefix, then n times fill, then suffix.
func gzipOf(prefix string, fill byte, n int, suffix string) []byte {
	var out bytes.Buffer
	writer, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	_, _ = writer.Write([]byte(prefix))
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	for n > 0 {
		piece := chunk[:min(n, len(chunk))]
		_, _ = writer.Write(piece)
		n -= len(piece)
	}
	_, _ = writer.Write([]byte(suffix))
	_ = writer.Close()
	return out.Bytes()
}

// answer is what a hostile request got.
type answer struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
	err     error // the connection itself failed
}

func send(request *http.Request, client *http.Client) answer {
	if client == nil {
		client = http.DefaultClient
	}
	response, err := client.Do(request)
	if err != nil {
		return answer{err: err}
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	return answer{status: response.StatusCode, header: response.Header, trailer: response.Trailer, body: body}
}

func hostile(method, url, user string, body io.Reader, headers ...string) *http.Request {
	request, _ := http.NewRequest(method, url, body)
	if user != "" {
		request.Header.Set("Authorization", "Bearer "+tokens[user])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		request.Header.Set(headers[i], headers[i+1])
	}
	return request
}

// isAPIError reports whether body is the API's error shape.
func isAPIError(body []byte) bool {
	var shape struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	return json.Unmarshal(body, &shape) == nil && shape.Code != nil && shape.Message != ""
}

// h2c is a client speaking HTTP/2 without TLS, as gRPC clients do.
func h2c() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 60 * time.Second}
}

// grpcFrame is one gzip-compressed gRPC message.
func grpcFrame(compressed []byte) []byte {
	frame := make([]byte, 5, 5+len(compressed))
	frame[0] = 1
	binary.BigEndian.PutUint32(frame[1:], uint32(len(compressed)))
	return append(frame, compressed...)
}

// trickle sends head at once, then a byte every interval until stop.
func trickle(head string, interval time.Duration, stop <-chan struct{}) io.Reader {
	reader, writer := io.Pipe()
	go func() {
		defer writer.Close()
		if _, err := writer.Write([]byte(head)); err != nil {
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(interval):
				if _, err := writer.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	return reader
}

// idleInTransaction counts the system database's sessions idle inside a
// transaction.
func idleInTransaction(t *testing.T, sys *system) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, sys.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHostileRequestsAreRefusedAtABoundedCost(t *testing.T) {
	sys := startSystem(t, abuseEnv...)
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"ABUSE","name":"Lab","country":"CH"}`)["id"].(string)
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs/"+lab+"/members", `{"email":"member@example.com","role":"lab_member"}`)
	labs := "http://" + sys.addrs["labs"]
	imports := sys.Gateway + "/api/v1/labs/" + lab + "/imports?kind=equipment&year=2025"
	nested := `{"code":"NEST","country":"CH","name":"n","description":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`

	rows := []struct {
		name string
		send func() answer
		// want is the HTTP status; for gRPC, the grpc-status trailer.
		want      int
		grpc      bool
		jsonError bool
	}{
		{"gzip bomb (285 KB to 300 MB) on POST /api/v1/labs, as the outsider", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "outsider", bytes.NewReader(bomb()), "Content-Type", "application/json", "Content-Encoding", "gzip"), nil)
		}, http.StatusRequestEntityTooLarge, false, true},
		{"the same bomb as an admin, who may create labs", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", bytes.NewReader(bomb()), "Content-Type", "application/json", "Content-Encoding", "gzip"), nil)
		}, http.StatusRequestEntityTooLarge, false, true},
		{"the bomb with an encoding the gateway does not take (br)", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", bytes.NewReader(bomb()), "Content-Type", "application/json", "Content-Encoding", "br"), nil)
		}, http.StatusUnsupportedMediaType, false, true},
		{"a body that is not gzip, labelled gzip", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", strings.NewReader(`{"code":"X"}`), "Content-Type", "application/json", "Content-Encoding", "gzip"), nil)
		}, http.StatusBadRequest, false, true},
		{"the bomb straight to labs' Connect port (Connect protocol, as the outsider)", func() answer {
			return send(hostile("POST", labs+"/co2.labs.v1.LabsService/CreateLab", "outsider", bytes.NewReader(bomb()), "Content-Type", "application/json", "Content-Encoding", "gzip"), nil)
		}, http.StatusTooManyRequests, false, false}, // Connect's resource_exhausted
		{"the bomb straight to labs' Connect port (gRPC protocol, as the outsider)", func() answer {
			request := hostile("POST", labs+"/co2.labs.v1.LabsService/CreateLab", "outsider", bytes.NewReader(grpcFrame(gzipOf("", 0, 300<<20, ""))),
				"Content-Type", "application/grpc", "Grpc-Encoding", "gzip", "Te", "trailers")
			got := send(request, h2c())
			if got.err == nil {
				status := got.header.Get("Grpc-Status") // a trailers-only answer
				if status == "" {
					status = got.trailer.Get("Grpc-Status")
				}
				_, _ = fmt.Sscan(status, &got.status)
			}
			return got
		}, 8, true, false}, // RESOURCE_EXHAUSTED
		{"a 2 MiB JSON body", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", strings.NewReader(`{"code":"BIG","name":"`+strings.Repeat("a", 2<<20)+`"}`), "Content-Type", "application/json"), nil)
		}, http.StatusRequestEntityTooLarge, false, true},
		{"a 2 MiB JSON body without a length (chunked)", func() answer {
			request := hostile("POST", sys.Gateway+"/api/v1/labs", "admin", io.MultiReader(strings.NewReader(`{"code":"BIG","name":"`+strings.Repeat("a", 2<<20)+`"}`)), "Content-Type", "application/json")
			request.ContentLength = -1
			return send(request, nil)
		}, http.StatusRequestEntityTooLarge, false, true},
		{"JSON nested 200,000 deep", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", strings.NewReader(nested), "Content-Type", "application/json"), nil)
		}, http.StatusBadRequest, false, true},
		{"a gzip bomb upload (CSV inflating to 64 MiB, limit 8 MiB), by the lab's member", func() answer {
			return send(hostile("POST", imports, "member", bytes.NewReader(gzipOf(equipmentHeader, ' ', 64<<20, "")), "Content-Type", "text/csv", "Content-Encoding", "gzip"), nil)
		}, http.StatusRequestEntityTooLarge, false, true},
		{"a gzip bomb upload into a lab not the caller's (the outsider)", func() answer {
			return send(hostile("POST", imports, "outsider", bytes.NewReader(gzipOf(equipmentHeader, ' ', 64<<20, "")), "Content-Type", "text/csv", "Content-Encoding", "gzip"), nil)
		}, http.StatusNotFound, false, true},
		{"an upload whose header line never ends (4 MiB of one field)", func() answer {
			return send(hostile("POST", imports, "member", strings.NewReader(strings.Repeat("a", 4<<20)), "Content-Type", "text/csv"), nil)
		}, http.StatusBadRequest, false, true},
		{"a GET with a stray Content-Type: text/csv (ignored: there is no body)", func() answer {
			return send(hostile("GET", sys.Gateway+"/api/v1/labs", "admin", nil, "Content-Type", "text/csv"), nil)
		}, http.StatusOK, false, false},
		{"a JSON endpoint sent a CSV body", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs", "admin", strings.NewReader("code,name\nX,Y\n"), "Content-Type", "text/csv"), nil)
		}, http.StatusUnsupportedMediaType, false, true},
		{"a path the API does not have", func() answer {
			return send(hostile("GET", sys.Gateway+"/api/v1/no-such-thing", "admin", nil), nil)
		}, http.StatusNotFound, false, true},
		{"a method the path does not take", func() answer {
			return send(hostile("PATCH", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "admin", strings.NewReader("{}")), nil)
		}, http.StatusMethodNotAllowed, false, true},
		{"a kind name padded with 10,000 spaces, into a lab not the caller's", func() answer {
			return send(hostile("POST", sys.Gateway+"/api/v1/labs/"+lab+"/imports?year=2025&kind=equipment"+strings.Repeat("%20", 10000), "outsider",
				strings.NewReader(equipmentRows(1)), "Content-Type", "text/csv"), nil)
		}, http.StatusNotFound, false, true},
		{"an upload that stops sending after its header (idle timeout 2 s)", func() answer {
			stop := make(chan struct{})
			defer close(stop)
			body := trickle(equipmentHeader, time.Hour, stop)
			return send(hostile("POST", imports, "member", body, "Content-Type", "text/csv"), &http.Client{Timeout: 30 * time.Second})
		}, http.StatusBadRequest, false, true},
		{"tokens signed with keys nobody published, from behind a forged X-Forwarded-For", func() answer {
			forged := "Bearer " + encodeSegment(map[string]any{"alg": "RS256", "kid": "forged", "typ": "JWT"}) + "." +
				encodeSegment(map[string]any{"sub": "mallory"}) + ".c2lnbmF0dXJl"
			var last answer
			for i := range 20 {
				request := hostile("GET", sys.Gateway+"/api/v1/me", "", nil, "Authorization", forged, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
				last = send(request, nil)
			}
			return last // the budget is per real address: spent after 5
		}, http.StatusTooManyRequests, false, true},
	}

	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, process := range sys.processes {
				if err := process.ResetPeakRSS(); err != nil {
					t.Fatal(err)
				}
			}
			got := row.send()
			peaks := map[string]int64{}
			for name, process := range sys.processes {
				peak, err := process.PeakRSS()
				if err != nil {
					t.Fatalf("%s: %v (did it die?)", name, err)
				}
				peaks[name] = peak
			}
			t.Logf("status %d; peak RSS MB: gateway %d, labs %d, ingest %d, calc %d, reporting %d", got.status,
				peaks["gateway"]>>20, peaks["labs"]>>20, peaks["ingest"]>>20, peaks["calc"]>>20, peaks["reporting"]>>20)
			switch {
			case got.err != nil:
				t.Errorf("the connection failed: %v", got.err)
			case got.status != row.want:
				t.Errorf("status %d, want %d: %.300s", got.status, row.want, got.body)
			case row.jsonError && !isAPIError(got.body):
				t.Errorf("the answer is not the API's error shape: %.300s", got.body)
			}
			for name, peak := range peaks {
				if peak > memoryBound {
					t.Errorf("%s reached %d MiB resident, over the %d MiB bound", name, peak>>20, memoryBound>>20)
				}
			}
		})
	}
	for name, process := range sys.processes {
		select {
		case <-process.Done():
			t.Errorf("%s died: %v", name, process.Err())
		default:
		}
	}
	// Nothing a hostile request sent was kept.
	if codes := labCodes(mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs", "")); strings.Join(codes, ",") != "ABUSE" {
		t.Errorf("labs after the table: %v", codes)
	}
	if listed := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "")["imports"]; listed != nil && len(listed.([]any)) != 0 {
		t.Errorf("imports kept after the hostile uploads: %v", listed)
	}
}

// Twenty uploads trickling in at a byte a second hold no database
// transaction and no pool connection: the rest of the system answers as
// before, and each trickle is cut once BODY_TIMEOUT passes.
func TestSlowUploadsHoldNoTransaction(t *testing.T) {
	sys := startSystem(t, "BODY_IDLE_TIMEOUT=5s", "BODY_TIMEOUT=8s", "DB_MAX_CONNS=4", "RATE_LIMIT_UPLOAD=1000/1m")
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"SLOW","name":"Lab","country":"CH"}`)["id"].(string)
	imports := sys.Gateway + "/api/v1/labs/" + lab + "/imports?kind=equipment&year=2025"

	stop := make(chan struct{})
	results := make(chan answer, 20)
	started := time.Now()
	for range 20 {
		go func() {
			body := trickle(equipmentHeader+"Device,it,1,40,10,128,2\n", time.Second, stop)
			results <- send(hostile("POST", imports, "admin", body, "Content-Type", "text/csv"), &http.Client{Timeout: time.Minute})
		}()
	}
	time.Sleep(3 * time.Second) // every upload has begun
	if n := idleInTransaction(t, sys); n != 0 {
		t.Errorf("%d sessions idle in a transaction while 20 uploads trickle in", n)
	}
	// With a pool of 4 connections per process, other work goes on.
	for range 5 {
		began := time.Now()
		mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "")
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("listing imports took %s while uploads trickle in", took)
		}
	}
	for range 20 {
		select {
		case got := <-results:
			if got.err == nil && got.status < 400 {
				t.Errorf("a trickling upload was taken: %d %s", got.status, got.body)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("trickling uploads still open %s after they began (BODY_TIMEOUT 8 s)", time.Since(started))
		}
	}
	close(stop)
	if listed := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab+"/imports", "")["imports"]; listed != nil && len(listed.([]any)) != 0 {
		t.Errorf("cut uploads left jobs behind: %v", listed)
	}
}
