package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/gateway"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authn/authntest"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/server/servertest"
)

// ingest records what an upload stream brings it, as the ingest service
// would receive it, and refuses a file whose first line is "refuse".
type ingest struct {
	ingestv1connect.UnimplementedImportServiceHandler
	mu       sync.Mutex
	meta     *ingestv1.UploadMetadata
	file     bytes.Buffer
	messages int
	bearer   string
}

func (i *ingest) UploadImport(_ context.Context, stream *connect.ClientStream[ingestv1.UploadImportRequest]) (*connect.Response[ingestv1.UploadImportResponse], error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.file.Reset() // what this upload brings
	i.messages = 0
	i.bearer = authn.BearerToken(stream.RequestHeader().Get("Authorization"))
	for stream.Receive() {
		if meta := stream.Msg().GetMetadata(); meta != nil {
			i.meta = meta
			continue
		}
		i.messages++
		i.file.Write(stream.Msg().GetChunk())
		if strings.HasPrefix(i.file.String(), "refuse") {
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("file: the header lacks the required column(s) kind"))
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.UploadImportResponse{Import: &ingestv1.Import{Id: "job-1", State: "QUEUED"}, StatusUrl: "/api/v1/imports/job-1/status"}), nil
}

type relaySystem struct {
	gateway *httptest.Server
	ingest  *ingest
	token   string
}

// startRelay serves the gateway in front of a stand-in ingest on a real
// port (h2c, as the services speak); uploads may be 1 MiB.
func startRelay(t *testing.T) relaySystem {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	issuer := authntest.NewIssuer(t)
	verifier := issuer.Verifier(t)
	recorder := &ingest{}
	upstream := server.New(server.Config{ReadHeaderTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second}, logger, http.NotFoundHandler())
	path, handler := ingestv1connect.NewImportServiceHandler(recorder)
	upstream.Mount(ingestv1connect.ImportServiceName, path, handler)
	ingestURL, _ := url.Parse(servertest.Start(t, upstream))
	limits := server.Limits{MaxMessageBytes: 4 << 20}
	caller, err := rpcclient.New(rpcclient.Config{Timeout: 10 * time.Second}, limits)
	if err != nil {
		t.Fatal(err)
	}
	api, err := gateway.New(logger, []gateway.Upstream{{Name: "ingest", URL: ingestURL, Services: []string{ingestv1connect.ImportServiceName}}},
		gateway.Options{Verifier: verifier, MaxBodyBytes: 1 << 10, MaxUploadBytes: 1 << 20, Limits: limits, Caller: caller, ReadyTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(api)
	t.Cleanup(front.Close)
	return relaySystem{gateway: front, ingest: recorder, token: issuer.Token(t, "ana")}
}

// post uploads body and returns the answer's status, headers and JSON.
func (s relaySystem) post(t *testing.T, contentType string, body io.Reader) (answered, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.gateway.URL+"/api/v1/labs/lab-1/imports?kind=equipment&year=2025&mode=replace&filename=data.csv", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		t.Fatalf("%d: not JSON: %v", res.StatusCode, err)
	}
	return answered{StatusCode: res.StatusCode, Header: res.Header}, answer
}

// answered is what the client read of an answer besides its body.
type answered struct {
	StatusCode int
	Header     http.Header
}

// A CSV body larger than the JSON bound but within the upload bound goes to
// ingest as a client stream, metadata first, then the file in pieces,
// with the caller's own token; the answer is 202 with the status URL.
func TestAnUploadIsRelayedAsAStream(t *testing.T) {
	s := startRelay(t)
	file := "equipment_name,category\n" + strings.Repeat("Freezer,scientific\n", 30_000) // 570 KB
	res, answer := s.post(t, "text/csv", strings.NewReader(file))
	if res.StatusCode != http.StatusAccepted || res.Header.Get("Location") != "/api/v1/imports/job-1/status" || answer["statusUrl"] != "/api/v1/imports/job-1/status" {
		t.Fatalf("%d %v %v", res.StatusCode, res.Header, answer)
	}
	meta := s.ingest.meta
	if meta.GetLabId() != "lab-1" || meta.GetKind() != "equipment" || meta.GetYear() != 2025 || meta.GetMode() != "replace" || meta.GetFilename() != "data.csv" {
		t.Fatalf("metadata %v", meta)
	}
	if s.ingest.file.String() != file || s.ingest.messages < 3 {
		t.Fatalf("ingest got %d bytes in %d messages, want the %d-byte file in pieces", s.ingest.file.Len(), s.ingest.messages, len(file))
	}
	if s.ingest.bearer != s.token {
		t.Fatal("the upload did not reach ingest with the caller's token")
	}
}

// A multipart form's file part is what goes to ingest, named as sent.
func TestAMultipartUploadSendsItsFilePart(t *testing.T) {
	s := startRelay(t)
	var form bytes.Buffer
	writer := multipart.NewWriter(&form)
	_ = writer.WriteField("note", "not the file")
	part, _ := writer.CreateFormFile("file", "flights.csv")
	_, _ = part.Write([]byte("departure,arrival\nGVA,LHR\n"))
	_ = writer.Close()
	if res, answer := s.post(t, writer.FormDataContentType(), &form); res.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %v", res.StatusCode, answer)
	}
	if s.ingest.file.String() != "departure,arrival\nGVA,LHR\n" || s.ingest.meta.GetFilename() != "flights.csv" {
		t.Fatalf("ingest got %q named %q", s.ingest.file.String(), s.ingest.meta.GetFilename())
	}
}

// ingest's refusal reaches the client in the API's error shape, with its
// status; a body past the upload bound is 413.
func TestUploadRefusalsKeepTheAPIShape(t *testing.T) {
	s := startRelay(t)
	res, answer := s.post(t, "text/csv", strings.NewReader("refuse,this\n"))
	if res.StatusCode != http.StatusBadRequest || answer["code"] != float64(connect.CodeInvalidArgument) || !strings.Contains(answer["message"].(string), "required column") {
		t.Fatalf("a refused file: %d %v", res.StatusCode, answer)
	}
	res, answer = s.post(t, "text/csv", io.LimitReader(neverEnding('a'), 2<<20))
	if res.StatusCode != http.StatusRequestEntityTooLarge || answer["code"] != float64(connect.CodeInvalidArgument) {
		t.Fatalf("a 2 MiB upload under a 1 MiB bound: %d %v", res.StatusCode, answer)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
