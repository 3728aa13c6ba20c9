// Package tests drives the ingest service through its public surface: the
// real handlers on a real port, called by Connect clients as users (the
// upload, the status) and as calc's workers (claim, file, progress,
// finish), over a real database and Redis.
package tests

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestapi"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestdb"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/queue"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/workerbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authn/authntest"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"
	"github.com/co2-calculator/co2-calculator/services/platform/pgnotify"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/server/servertest"
)

// members gives each subject its lab roles, as labs would.
type members map[string][]authz.Grant

func (m members) Grants(_ context.Context, principal authn.Principal) ([]authz.Grant, error) {
	return m[principal.Subject], nil
}

// templates answers what calc's TemplateService says of the equipment kind.
type templates struct{}

func (templates) Template(_ context.Context, kind string) (ingestbus.Template, error) {
	if kind != "equipment" {
		return ingestbus.Template{}, ingestbus.ErrUnknownKind
	}
	return ingestbus.Template{Kind: "equipment", Module: "equipment", Required: []string{"equipment_name", "category", "active_hours_per_week", "active_power_w"}}, nil
}

// existingLabs says every lab exists.
type existingLabs struct{}

func (existingLabs) LabExists(context.Context, uuid.UUID) (bool, error) { return true, nil }

type system struct {
	issuer   *authntest.Issuer
	url      string
	tasks    jobqueuetest.Queue
	lab      string
	watchers *ingestbus.Watchers
}

// watchConfig bounds the watches of the tests: two at once, and no poll
// within a test's time (what a watcher sees comes from the notifications).
var watchConfig = ingestbus.WatchConfig{MaxWatchers: 2, PollInterval: time.Hour, Keepalive: time.Hour, MaxDuration: time.Minute}

// start serves ingest on a loopback port; ana is a member of the lab.
func start(t *testing.T) system {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	issuer := authntest.NewIssuer(t)
	verifier := issuer.Verifier(t)
	lab := uuid.NewString()
	authorizer := authz.NewAuthorizer(members{"ana": {{LabID: lab, Role: authz.RoleLabMember}}}, authz.Config{})
	tasks := jobqueuetest.New(t, "ingest-test")
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "ingest", Migrations: ingestmigrations.Migrations})
	store := ingestdb.NewStore(pool)
	cfg := ingestbus.Config{MaxAttempts: 3, Lease: time.Minute, MaxUploadBytes: 1 << 20, ErrorsKept: 10, ChunkBytes: 16, RetryBackoff: time.Second} // pieces smaller than the header line
	imports := ingestbus.New(logger, store, authorizer, templates{}, existingLabs{}, queue.New(tasks.Queue), cfg)
	changes := pgnotify.New(logger, pool, ingestbus.JobChangedChannel)
	listening, stopListening := context.WithCancel(context.Background())
	listened := make(chan struct{})
	go func() { defer close(listened); changes.Run(listening) }()
	t.Cleanup(func() { stopListening(); <-listened })
	watchers := ingestbus.NewWatchers(imports, changes, watchConfig)

	srv := server.New(server.Config{ReadHeaderTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second}, logger, http.NotFoundHandler())
	options, err := srv.HandlerOptions(authn.Interceptor(verifier, logger))
	if err != nil {
		t.Fatal(err)
	}
	path, handler := ingestv1connect.NewImportServiceHandler(ingestapi.New(imports, watchers), options...)
	srv.Mount(ingestv1connect.ImportServiceName, path, handler)
	path, handler = ingestv1connect.NewImportWorkerServiceHandler(ingestapi.NewWorker(workerbus.New(store, cfg)), options...)
	srv.Mount(ingestv1connect.ImportWorkerServiceName, path, handler)
	return system{issuer: issuer, url: servertest.Start(t, srv), tasks: tasks, lab: lab, watchers: watchers}
}

// users is the import service as subject sees it.
func (s system) users(t *testing.T, subject string, roles ...string) ingestv1connect.ImportServiceClient {
	token := s.issuer.Token(t, subject, roles...)
	return ingestv1connect.NewImportServiceClient(rpcclient.HTTPClient(), s.url, connect.WithInterceptors(authn.ClientInterceptor(authn.Static(token))))
}

// workers is the worker service as subject sees it.
func (s system) workers(t *testing.T, subject string, roles ...string) ingestv1connect.ImportWorkerServiceClient {
	token := s.issuer.Token(t, subject, roles...)
	return ingestv1connect.NewImportWorkerServiceClient(rpcclient.HTTPClient(), s.url, connect.WithInterceptors(authn.ClientInterceptor(authn.Static(token))))
}

// upload sends file in pieces of the given sizes after the metadata.
func (s system) upload(t *testing.T, client ingestv1connect.ImportServiceClient, mode, file string, pieces ...int) (*ingestv1.UploadImportResponse, error) {
	t.Helper()
	stream := client.UploadImport(context.Background())
	if err := stream.Send(&ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Metadata{Metadata: &ingestv1.UploadMetadata{
		LabId: s.lab, Kind: "equipment", Year: 2025, Mode: mode, Filename: "equipment.csv",
	}}}); err != nil {
		t.Fatal(err)
	}
	for _, size := range append(pieces, len(file)) {
		piece := file[:min(size, len(file))]
		file = file[len(piece):]
		if len(piece) > 0 && stream.Send(&ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Chunk{Chunk: []byte(piece)}}) != nil {
			break // the server refused early; CloseAndReceive says why
		}
	}
	res, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

const file = "equipment_name,category,active_hours_per_week,active_power_w\n" +
	"Freezer,scientific,168,350\n" +
	"Laptop,it,40,30\n" +
	"Oven,kitchen,10,2000\n"

// A file uploaded by a member is stored and queued; calc's worker claims
// the job, reads the file back as it was sent, reports progress and the
// outcome; the member then reads the result and the refused rows. Only the
// worker holding the job can speak for it, and only calc's workers can
// claim.
func TestAnUploadIsClaimedReadAndFinished(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	ana := s.users(t, "ana")
	uploaded, err := s.upload(t, ana, "append", file, 5, 40, 7)
	if err != nil {
		t.Fatal(err)
	}
	job := uploaded.GetImport()
	if job.GetState() != ingestbus.StateQueued || job.GetFileSize() != int64(len(file)) || uploaded.GetStatusUrl() != "/api/v1/imports/"+job.GetId()+"/status" {
		t.Fatalf("uploaded: %v", uploaded)
	}
	if _, err := s.tasks.Inspector.GetTaskInfo(s.tasks.Name(), job.GetId()); err != nil {
		t.Fatalf("the job's task is not queued under its id: %v", err)
	}

	if _, err := s.workers(t, "ana").ClaimJob(ctx, connect.NewRequest(&ingestv1.ClaimJobRequest{JobId: job.GetId(), WorkerId: "w1"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a user claiming a job: %v, want PermissionDenied", err)
	}
	calc := s.workers(t, "calc-worker", authn.ServiceRole("calc"))
	claimed, err := calc.ClaimJob(ctx, connect.NewRequest(&ingestv1.ClaimJobRequest{JobId: job.GetId(), WorkerId: "w1"}))
	if err != nil || claimed.Msg.GetJob().GetState() != ingestbus.StateRunning || claimed.Msg.GetLeaseSeconds() != 60 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if _, err := calc.ClaimJob(ctx, connect.NewRequest(&ingestv1.ClaimJobRequest{JobId: job.GetId(), WorkerId: "w2"})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("a second worker claiming a held job: %v, want FailedPrecondition", err)
	}

	stream, err := calc.ReadFile(ctx, connect.NewRequest(&ingestv1.ReadFileRequest{JobId: job.GetId(), WorkerId: "w1"}))
	if err != nil {
		t.Fatal(err)
	}
	var read strings.Builder
	for stream.Receive() {
		read.Write(stream.Msg().GetChunk())
	}
	if err := stream.Err(); err != nil || read.String() != file {
		t.Fatalf("the file read back: %q %v, want it as uploaded", read.String(), err)
	}
	if _, err := calc.ReportProgress(ctx, connect.NewRequest(&ingestv1.ReportProgressRequest{JobId: job.GetId(), WorkerId: "w1", RowsProcessed: 2})); err != nil {
		t.Fatal(err)
	}
	finish := &ingestv1.FinishJobRequest{JobId: job.GetId(), WorkerId: "w2", Result: ingestbus.ResultWarning,
		StatusMessage: "2 rows imported, 1 rejected; see the errors", RowsTotal: 3, RowsOk: 2, RowsRejected: 1,
		Errors: []*ingestv1.RowError{{Row: 4, Column: "category", Message: `"kitchen" is not one of scientific, it, other`}}}
	if _, err := calc.FinishJob(ctx, connect.NewRequest(finish)); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("a worker not holding the job finishing it: %v, want FailedPrecondition", err)
	}
	finish.WorkerId = "w1"
	if _, err := calc.FinishJob(ctx, connect.NewRequest(finish)); err != nil {
		t.Fatal(err)
	}

	status, err := ana.GetImportStatus(ctx, connect.NewRequest(&ingestv1.GetImportStatusRequest{Id: job.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	got := status.Msg.GetImport()
	if got.GetState() != ingestbus.StateFinished || got.GetResult() != ingestbus.ResultWarning || got.GetRowsOk() != 2 ||
		got.GetRowsRejected() != 1 || got.GetAttempts() != 1 || len(got.GetFirstErrors()) != 1 || got.GetFirstErrors()[0].GetColumn() != "category" {
		t.Fatalf("status: %v", got)
	}
	rowErrors, err := ana.ListImportErrors(ctx, connect.NewRequest(&ingestv1.ListImportErrorsRequest{Id: job.GetId()}))
	if err != nil || len(rowErrors.Msg.GetErrors()) != 1 || rowErrors.Msg.GetErrors()[0].GetRow() != 4 {
		t.Fatalf("row errors: %v %v", rowErrors, err)
	}
	if _, err := s.users(t, "bob").GetImportStatus(ctx, connect.NewRequest(&ingestv1.GetImportStatusRequest{Id: job.GetId()})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("someone outside the lab: %v, want NotFound", err)
	}
}

// A file whose header lacks a required column is refused with what to fix,
// and nothing is stored or queued.
func TestAFileWithoutTheRequiredColumnsIsRefused(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	ana := s.users(t, "ana")
	_, err := s.upload(t, ana, "append", "equipment_name,category\nFreezer,scientific\n", 10)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "active_hours_per_week") {
		t.Fatalf("upload: %v, want InvalidArgument naming the missing columns", err)
	}
	listed, err := ana.ListImports(ctx, connect.NewRequest(&ingestv1.ListImportsRequest{LabId: s.lab}))
	if err != nil || len(listed.Msg.GetImports()) != 0 {
		t.Fatalf("imports after a refused upload: %v %v", listed, err)
	}
	// No task was ever queued: the queue does not even exist.
	if pending, err := s.tasks.Inspector.ListPendingTasks(s.tasks.Name()); !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("tasks after a refused upload: %d %v", len(pending), err)
	}
}
