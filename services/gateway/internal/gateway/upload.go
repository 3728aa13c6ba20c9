package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// uploadChunkBytes is the size of the pieces an upload is streamed in.
const uploadChunkBytes = 256 * 1024

// uploader turns an upload (POST /api/v1/labs/{id}/imports to ingest, POST
// /api/v1/factor-datasets to calc) into a Connect client stream, chunk by
// chunk as the body arrives, so no process holds the file. The body is the
// CSV itself (text/csv or any non-multipart type) or a multipart/form-data
// form with a file part.
type uploader struct {
	ingest   ingestv1connect.ImportServiceClient
	calc     calcv1connect.FactorServiceClient
	maxBytes int64
	logger   *slog.Logger
}

// callerOptions add the caller's own bearer token to upstream calls.
func callerOptions(options []connect.ClientOption) []connect.ClientOption {
	return append(options, connect.WithInterceptors(authn.ClientInterceptor(func(ctx context.Context) (string, error) {
		return bearerOf(ctx)
	})))
}

func newUploader(httpClient connect.HTTPClient, ingestURL string, maxBytes int64, logger *slog.Logger, options ...connect.ClientOption) *uploader {
	return &uploader{ingest: ingestv1connect.NewImportServiceClient(httpClient, ingestURL, callerOptions(options)...), maxBytes: maxBytes, logger: logger}
}

// newFactorUploader streams factor dataset uploads to calc.
func newFactorUploader(httpClient connect.HTTPClient, calcURL string, maxBytes int64, logger *slog.Logger, options ...connect.ClientOption) *uploader {
	return &uploader{calc: calcv1connect.NewFactorServiceClient(httpClient, calcURL, callerOptions(options)...), maxBytes: maxBytes, logger: logger}
}

type bearerKey struct{}

func bearerOf(ctx context.Context) (string, error) {
	token, _ := ctx.Value(bearerKey{}).(string)
	if token == "" {
		return "", errors.New("no bearer token")
	}
	return token, nil
}

// ServeHTTP serves POST /api/v1/labs/{id}/imports.
func (u *uploader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	year, err := strconv.Atoi(query.Get("year"))
	if err != nil {
		writeStatus(w, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("year: give the reporting year as ?year=YYYY (got %q)", query.Get("year"))))
		return
	}
	relay(u, w, r, u.ingest.UploadImport,
		func(filename string) *ingestv1.UploadImportRequest {
			return &ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Metadata{Metadata: &ingestv1.UploadMetadata{
				LabId: r.PathValue("id"), Kind: query.Get("kind"), Year: int32(year), Mode: query.Get("mode"), Filename: filename,
			}}}
		},
		func(chunk []byte) *ingestv1.UploadImportRequest {
			return &ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Chunk{Chunk: chunk}}
		},
		(*ingestv1.UploadImportResponse).GetStatusUrl)
}

// serveFactors serves POST /api/v1/factor-datasets?dataset=&version=.
func (u *uploader) serveFactors(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	relay(u, w, r, u.calc.UploadFactorDataset,
		func(filename string) *calcv1.UploadFactorDatasetRequest {
			return &calcv1.UploadFactorDatasetRequest{Part: &calcv1.UploadFactorDatasetRequest_Metadata{Metadata: &calcv1.FactorUploadMetadata{
				Dataset: query.Get("dataset"), Version: query.Get("version"), Description: query.Get("description"), Filename: filename,
			}}}
		},
		func(chunk []byte) *calcv1.UploadFactorDatasetRequest {
			return &calcv1.UploadFactorDatasetRequest{Part: &calcv1.UploadFactorDatasetRequest_Chunk{Chunk: chunk}}
		},
		(*calcv1.UploadFactorDatasetResponse).GetStatusUrl)
}

// relay streams the request's file to an upstream client stream: first the
// metadata message, then the file in chunks; it answers 202 with the
// upstream's response and its status URL as Location.
func relay[Req, Res any, ResP interface {
	*Res
	proto.Message
}](u *uploader, w http.ResponseWriter, r *http.Request, open func(context.Context) *connect.ClientStreamForClient[Req, Res],
	metadata func(filename string) *Req, chunk func([]byte) *Req, statusURL func(ResP) string) {
	if r.ContentLength > u.maxBytes {
		writeTooLarge(w, u.maxBytes)
		return
	}
	file, filename, err := fileOf(r)
	if err != nil {
		writeStatus(w, connect.NewError(connect.CodeInvalidArgument, err))
		return
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), bearerKey{}, authn.BearerToken(r.Header.Get("Authorization"))))
	defer cancel()
	stream := open(ctx)
	send := func(req *Req) bool { return stream.Send(req) == nil }
	ok := send(metadata(filename))
	buffer := make([]byte, uploadChunkBytes)
	var total int64
	for ok {
		n, readErr := io.ReadFull(file, buffer)
		total += int64(n)
		if total > u.maxBytes {
			cancel()
			writeTooLarge(w, u.maxBytes)
			return
		}
		if n > 0 {
			ok = send(chunk(buffer[:n]))
		}
		if errors.Is(readErr, errBodyTooLarge) {
			cancel()
			writeTooLarge(w, u.maxBytes)
			return
		}
		if readErr != nil {
			if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF) {
				cancel()
				u.logger.InfoContext(ctx, "upload body broke off", "error", readErr)
				writeStatus(w, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("the upload broke off: %w", readErr)))
				return
			}
			break
		}
	}
	// When the upstream refused early (a bad header), sending stopped and
	// this returns its error.
	res, err := stream.CloseAndReceive()
	if err != nil {
		writeStatus(w, err)
		return
	}
	msg := ResP(res.Msg)
	body, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		writeStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", statusURL(msg))
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
}

// fileOf returns the uploaded file: the body, or a multipart form's "file"
// part, read as it streams in.
func fileOf(r *http.Request) (io.Reader, string, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return r.Body, r.URL.Query().Get("filename"), nil
	}
	form, err := r.MultipartReader()
	if err != nil {
		return nil, "", fmt.Errorf("the multipart form cannot be read: %w", err)
	}
	for {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", errors.New("the multipart form has no part named file: send the CSV as file=@data.csv")
		}
		if err != nil {
			return nil, "", fmt.Errorf("the multipart form cannot be read: %w", err)
		}
		if part.FormName() == "file" {
			return part, part.FileName(), nil
		}
	}
}

// writeStatus answers a Connect error the way the REST surface does:
// google.rpc.Status JSON with the HTTP status of its code.
func writeStatus(w http.ResponseWriter, err error) {
	connectErr := new(connect.Error)
	if !errors.As(err, &connectErr) {
		connectErr = connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	status := &spb.Status{Code: int32(connectErr.Code()), Message: connectErr.Message()}
	for _, detail := range connectErr.Details() {
		status.Details = append(status.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + detail.Type(), Value: detail.Bytes()})
	}
	body, marshalErr := protojson.Marshal(status)
	if marshalErr != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	if connectErr.Code() == connect.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", authn.Challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus(connectErr.Code()))
	_, _ = w.Write(body)
}

// codeStatuses pairs Connect codes with their HTTP statuses (the
// google.api.http transcoding rules); where a status stands for several
// codes, the first listed is the one it is read as.
var codeStatuses = []struct {
	code   connect.Code
	status int
}{
	{connect.CodeCanceled, 499},
	{connect.CodeInvalidArgument, http.StatusBadRequest},
	{connect.CodeFailedPrecondition, http.StatusBadRequest},
	{connect.CodeOutOfRange, http.StatusBadRequest},
	{connect.CodeDeadlineExceeded, http.StatusGatewayTimeout},
	{connect.CodeNotFound, http.StatusNotFound},
	{connect.CodeAlreadyExists, http.StatusConflict},
	{connect.CodeAborted, http.StatusConflict},
	{connect.CodePermissionDenied, http.StatusForbidden},
	{connect.CodeResourceExhausted, http.StatusTooManyRequests},
	{connect.CodeUnimplemented, http.StatusNotImplemented},
	{connect.CodeUnavailable, http.StatusServiceUnavailable},
	{connect.CodeUnauthenticated, http.StatusUnauthorized},
}

// httpStatus is the HTTP status of a Connect code.
func httpStatus(code connect.Code) int {
	for _, pair := range codeStatuses {
		if pair.code == code {
			return pair.status
		}
	}
	return http.StatusInternalServerError
}
