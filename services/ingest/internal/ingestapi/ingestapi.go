// Package ingestapi serves ImportService (to users, through the gateway)
// and ImportWorkerService (to workers) over Connect.
package ingestapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/workerbus"
	"github.com/co2-calculator/co2-calculator/services/platform/chunkstream"
)

// Handler implements ImportService.
type Handler struct {
	imports  *ingestbus.Business
	watchers *ingestbus.Watchers
}

var _ ingestv1connect.ImportServiceHandler = (*Handler)(nil)

// New returns the handler over the import register and its watchers.
func New(imports *ingestbus.Business, watchers *ingestbus.Watchers) *Handler {
	return &Handler{imports: imports, watchers: watchers}
}

func (h *Handler) UploadImport(ctx context.Context, stream *connect.ClientStream[ingestv1.UploadImportRequest]) (*connect.Response[ingestv1.UploadImportResponse], error) {
	meta, file, err := chunkstream.Upload(stream, (*ingestv1.UploadImportRequest).GetMetadata, (*ingestv1.UploadImportRequest).GetChunk)
	if err != nil {
		return nil, err
	}
	job, err := h.imports.Upload(ctx, ingestbus.Upload{
		LabID: meta.GetLabId(), Kind: meta.GetKind(), Year: meta.GetYear(), Mode: meta.GetMode(), Filename: meta.GetFilename(),
		AllowDuplicate: meta.GetAllowDuplicate(),
	}, file)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.UploadImportResponse{Import: toProto(job), StatusUrl: "/api/v1/imports/" + job.ID.String() + "/status"}), nil
}

func (h *Handler) GetImportStatus(ctx context.Context, req *connect.Request[ingestv1.GetImportStatusRequest]) (*connect.Response[ingestv1.GetImportStatusResponse], error) {
	job, err := h.imports.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.GetImportStatusResponse{Import: toProto(job)}), nil
}

func (h *Handler) WatchImport(ctx context.Context, req *connect.Request[ingestv1.WatchImportRequest], stream *connect.ServerStream[ingestv1.WatchImportResponse]) error {
	return h.watchers.Watch(ctx, req.Msg.GetId(), func(job ingestbus.Job) error {
		return stream.Send(&ingestv1.WatchImportResponse{Import: toProto(job)})
	})
}

func (h *Handler) ListImportErrors(ctx context.Context, req *connect.Request[ingestv1.ListImportErrorsRequest]) (*connect.Response[ingestv1.ListImportErrorsResponse], error) {
	page, err := h.imports.ListErrors(ctx, req.Msg.GetId(), req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.ListImportErrorsResponse{
		Errors: rowErrorsToProto(page.Errors), NextPageToken: page.NextPageToken, RowsRejected: page.RowsRejected,
	}), nil
}

func (h *Handler) ListImports(ctx context.Context, req *connect.Request[ingestv1.ListImportsRequest]) (*connect.Response[ingestv1.ListImportsResponse], error) {
	page, err := h.imports.List(ctx, req.Msg.GetLabId(), req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	res := &ingestv1.ListImportsResponse{NextPageToken: page.NextPageToken, Imports: make([]*ingestv1.Import, len(page.Jobs))}
	for i, job := range page.Jobs {
		res.Imports[i] = toProto(job)
	}
	return connect.NewResponse(res), nil
}

func (h *Handler) CancelImport(ctx context.Context, req *connect.Request[ingestv1.CancelImportRequest]) (*connect.Response[ingestv1.CancelImportResponse], error) {
	job, err := h.imports.Cancel(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.CancelImportResponse{Import: toProto(job)}), nil
}

func (h *Handler) RetryImport(ctx context.Context, req *connect.Request[ingestv1.RetryImportRequest]) (*connect.Response[ingestv1.RetryImportResponse], error) {
	job, err := h.imports.Retry(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.RetryImportResponse{Import: toProto(job)}), nil
}

// WorkerHandler implements ImportWorkerService.
type WorkerHandler struct {
	leases *workerbus.Leases
}

var _ ingestv1connect.ImportWorkerServiceHandler = (*WorkerHandler)(nil)

// NewWorker returns the workers' handler.
func NewWorker(leases *workerbus.Leases) *WorkerHandler { return &WorkerHandler{leases: leases} }

func (h *WorkerHandler) ClaimJob(ctx context.Context, req *connect.Request[ingestv1.ClaimJobRequest]) (*connect.Response[ingestv1.ClaimJobResponse], error) {
	job, err := h.leases.Claim(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.ClaimJobResponse{Job: toProto(job), LeaseSeconds: h.leases.Lease()}), nil
}

func (h *WorkerHandler) Heartbeat(ctx context.Context, req *connect.Request[ingestv1.HeartbeatRequest]) (*connect.Response[ingestv1.HeartbeatResponse], error) {
	cancelled, err := h.leases.Heartbeat(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId(), 0)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.HeartbeatResponse{CancelRequested: cancelled}), nil
}

func (h *WorkerHandler) ReportProgress(ctx context.Context, req *connect.Request[ingestv1.ReportProgressRequest]) (*connect.Response[ingestv1.ReportProgressResponse], error) {
	cancelled, err := h.leases.Heartbeat(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId(), req.Msg.GetRowsProcessed())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.ReportProgressResponse{CancelRequested: cancelled}), nil
}

func (h *WorkerHandler) ReadFile(ctx context.Context, req *connect.Request[ingestv1.ReadFileRequest], stream *connect.ServerStream[ingestv1.ReadFileResponse]) error {
	return h.leases.ReadFile(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId(), func(chunk []byte) error {
		return stream.Send(&ingestv1.ReadFileResponse{Chunk: chunk})
	})
}

func (h *WorkerHandler) FinishJob(ctx context.Context, req *connect.Request[ingestv1.FinishJobRequest]) (*connect.Response[ingestv1.FinishJobResponse], error) {
	outcome := ingestbus.Outcome{
		Result: req.Msg.GetResult(), StatusMessage: req.Msg.GetStatusMessage(),
		RowsTotal: req.Msg.GetRowsTotal(), RowsOK: req.Msg.GetRowsOk(), RowsRejected: req.Msg.GetRowsRejected(),
	}
	for _, rowErr := range req.Msg.GetErrors() {
		outcome.Errors = append(outcome.Errors, ingestbus.RowError{Row: rowErr.GetRow(), Column: rowErr.GetColumn(), Message: rowErr.GetMessage()})
	}
	if err := h.leases.Finish(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId(), outcome); err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.FinishJobResponse{}), nil
}

func (h *WorkerHandler) ReleaseJob(ctx context.Context, req *connect.Request[ingestv1.ReleaseJobRequest]) (*connect.Response[ingestv1.ReleaseJobResponse], error) {
	state, err := h.leases.Release(ctx, req.Msg.GetJobId(), req.Msg.GetWorkerId(), req.Msg.GetReason(), req.Msg.GetCountAttempt())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ingestv1.ReleaseJobResponse{State: state}), nil
}

func toProto(job ingestbus.Job) *ingestv1.Import {
	out := &ingestv1.Import{
		Id: job.ID.String(), LabId: job.LabID.String(), Year: job.Year, Kind: job.Kind, Module: job.Module, Mode: job.Mode,
		State: job.State, Result: job.Result, StatusMessage: job.StatusMessage,
		RowsTotal: job.RowsTotal, RowsOk: job.RowsOK, RowsRejected: job.RowsRejected, RowsProcessed: job.RowsProcessed,
		FirstErrors: rowErrorsToProto(job.FirstErrors), Filename: job.Filename, FileSize: job.FileSize, FileSha256: job.FileSHA256,
		Attempts: job.Attempts, MaxAttempts: job.MaxAttempts, CancelRequested: job.CancelRequested, CreatedBy: job.CreatedBy,
		CreatedAt: timestamppb.New(job.CreatedAt), UpdatedAt: timestamppb.New(job.UpdatedAt),
		Method: job.Method, TargetType: job.TargetType,
	}
	if job.StartedAt != nil {
		out.StartedAt = timestamppb.New(*job.StartedAt)
	}
	if job.FinishedAt != nil {
		out.FinishedAt = timestamppb.New(*job.FinishedAt)
	}
	return out
}

func rowErrorsToProto(rowErrors []ingestbus.RowError) []*ingestv1.RowError {
	out := make([]*ingestv1.RowError, len(rowErrors))
	for i, rowErr := range rowErrors {
		out[i] = &ingestv1.RowError{Row: rowErr.Row, Column: rowErr.Column, Message: rowErr.Message}
	}
	return out
}
