package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/reqbody"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// yearCheckTimeout bounds the question whether an import's year is closed.
const yearCheckTimeout = 5 * time.Second

// uploadChunkBytes is the size of the pieces an upload is streamed in.
const uploadChunkBytes = 256 * 1024

// uploader turns an upload (POST /api/v1/labs/{id}/imports to ingest, POST
// /api/v1/factor-datasets to calc) into a Connect client stream, chunk by
// chunk as the body arrives, so no process holds the file. The body is the
// CSV itself (text/csv or any non-multipart type) or a multipart/form-data
// form with a file part.
type uploader struct {
	maxBytes int64
	logger   *slog.Logger
	// years answers whether a lab's reporting year is closed, so an import
	// into it is refused before its file is sent (nil: not asked).
	years calcv1connect.ReportingYearServiceClient
}

// callerOptions add the caller's own bearer token to upstream calls.
func callerOptions(options []connect.ClientOption) []connect.ClientOption {
	return append(slices.Clip(options), connect.WithInterceptors(authn.ClientInterceptor(func(ctx context.Context) (string, error) {
		return bearerOf(ctx)
	})))
}

type bearerKey struct{}

func bearerOf(ctx context.Context) (string, error) {
	token, _ := ctx.Value(bearerKey{}).(string)
	if token == "" {
		return "", errors.New("no bearer token")
	}
	return token, nil
}

// imports serves POST /api/v1/labs/{id}/imports, streamed to ingest.
func (u *uploader) imports(ingest ingestv1connect.ImportServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		year, err := strconv.Atoi(query.Get("year"))
		if err != nil {
			resterr.WriteStatus(w, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("year: give the reporting year as ?year=YYYY (got %q)", query.Get("year"))))
			return
		}
		if err := u.yearOpen(r, r.PathValue("id"), int32(year)); err != nil {
			resterr.WriteStatus(w, err)
			return
		}
		relay(u, w, r, ingest.UploadImport,
			func(filename string, fields url.Values) (*ingestv1.UploadImportRequest, error) {
				allowDuplicate, err := flag(query, fields, "allow_duplicate")
				if err != nil {
					return nil, err
				}
				return &ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Metadata{Metadata: &ingestv1.UploadMetadata{
					LabId: r.PathValue("id"), Kind: query.Get("kind"), Year: int32(year), Mode: query.Get("mode"), Filename: filename,
					AllowDuplicate: allowDuplicate,
				}}}, nil
			},
			func(chunk []byte) *ingestv1.UploadImportRequest {
				return &ingestv1.UploadImportRequest{Part: &ingestv1.UploadImportRequest_Chunk{Chunk: chunk}}
			},
			(*ingestv1.UploadImportResponse).GetStatusUrl)
	})
}

// flag reads a boolean from the query, or else from the form fields sent
// before the file; absent is false.
func flag(query, fields url.Values, name string) (bool, error) {
	value := query.Get(name)
	if value == "" {
		value = fields.Get(name)
	}
	if value == "" {
		return false, nil
	}
	set, err := strconv.ParseBool(value)
	if err != nil {
		return false, fmt.Errorf("%s: give true or false (got %q)", name, value)
	}
	return set, nil
}

// yearOpen refuses an import into a closed reporting year up front (409),
// before the file is read. It is a courtesy to the uploader: the import
// itself checks the year under calc's lock, and ends ERROR when the year
// was closed while it was queued. Any other answer (no such lab, a role
// that may not see it) is left to ingest to give.
func (u *uploader) yearOpen(r *http.Request, labID string, year int32) *connect.Error {
	if u.years == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), bearerKey{}, authn.BearerToken(r.Header.Get("Authorization"))), yearCheckTimeout)
	defer cancel()
	res, err := u.years.GetReportingYear(ctx, connect.NewRequest(&calcv1.GetReportingYearRequest{LabId: labID, Year: year}))
	if err != nil {
		return nil
	}
	if res.Msg.GetYear().GetState() == "closed" {
		return connect.NewError(connect.CodeAborted, fmt.Errorf("reporting year %d of lab %s is closed: nothing can be imported into it until an admin reopens it", year, labID))
	}
	return nil
}

// factors serves POST /api/v1/factor-datasets?dataset=&version=, streamed
// to calc.
func (u *uploader) factors(calc calcv1connect.FactorServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		relay(u, w, r, calc.UploadFactorDataset,
			func(filename string, _ url.Values) (*calcv1.UploadFactorDatasetRequest, error) {
				return &calcv1.UploadFactorDatasetRequest{Part: &calcv1.UploadFactorDatasetRequest_Metadata{Metadata: &calcv1.FactorUploadMetadata{
					Dataset: query.Get("dataset"), Version: query.Get("version"), Description: query.Get("description"), Filename: filename,
				}}}, nil
			},
			func(chunk []byte) *calcv1.UploadFactorDatasetRequest {
				return &calcv1.UploadFactorDatasetRequest{Part: &calcv1.UploadFactorDatasetRequest_Chunk{Chunk: chunk}}
			},
			(*calcv1.UploadFactorDatasetResponse).GetStatusUrl)
	})
}

// relay streams the request's file to an upstream client stream: first the
// metadata message, then the file in chunks; it answers 202 with the
// upstream's response and its status URL as Location.
func relay[Req, Res any, ResP interface {
	*Res
	proto.Message
}](u *uploader, w http.ResponseWriter, r *http.Request, open func(context.Context) *connect.ClientStreamForClient[Req, Res],
	metadata func(filename string, fields url.Values) (*Req, error), chunk func([]byte) *Req, statusURL func(ResP) string) {
	if r.ContentLength > u.maxBytes {
		resterr.TooLarge(w, u.maxBytes)
		return
	}
	file, filename, fields, err := fileOf(r)
	if err != nil {
		resterr.WriteStatus(w, connect.NewError(connect.CodeInvalidArgument, err))
		return
	}
	first, err := metadata(filename, fields)
	if err != nil {
		resterr.WriteStatus(w, connect.NewError(connect.CodeInvalidArgument, err))
		return
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), bearerKey{}, authn.BearerToken(r.Header.Get("Authorization"))))
	defer cancel()
	stream := open(ctx)
	send := func(req *Req) bool { return stream.Send(req) == nil }
	ok := send(first)
	buffer := make([]byte, uploadChunkBytes)
	var total int64
	for ok {
		n, readErr := io.ReadFull(file, buffer)
		total += int64(n)
		if total > u.maxBytes {
			cancel()
			resterr.TooLarge(w, u.maxBytes)
			return
		}
		if n > 0 {
			ok = send(chunk(buffer[:n]))
		}
		if errors.Is(readErr, reqbody.ErrTooLarge) {
			cancel()
			resterr.TooLarge(w, u.maxBytes)
			return
		}
		if readErr != nil {
			if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF) {
				cancel()
				u.logger.InfoContext(ctx, "upload body broke off", "error", readErr)
				resterr.WriteStatus(w, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("the upload broke off: %w", readErr)))
				return
			}
			break
		}
	}
	// When the upstream refused early (a bad header), sending stopped and
	// this returns its error.
	res, err := stream.CloseAndReceive()
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	msg := ResP(res.Msg)
	body, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", statusURL(msg))
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
}

// fileOf returns the uploaded file: the body, or a multipart form's "file"
// part, read as it streams in, with the form's small fields sent before it
// (at most maxFormFields, each at most maxFormFieldBytes).
func fileOf(r *http.Request) (io.Reader, string, url.Values, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return r.Body, r.URL.Query().Get("filename"), nil, nil
	}
	form, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, fmt.Errorf("the multipart form cannot be read: %w", err)
	}
	fields := url.Values{}
	for count := 0; ; count++ {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", nil, errors.New("the multipart form has no part named file: send the CSV as file=@data.csv")
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("the multipart form cannot be read: %w", err)
		}
		if part.FormName() == "file" {
			return part, part.FileName(), fields, nil
		}
		if count >= maxFormFields {
			return nil, "", nil, fmt.Errorf("the multipart form has more than %d parts before the file: send the file part first or sooner", maxFormFields)
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes+1))
		if err != nil {
			return nil, "", nil, fmt.Errorf("the multipart form cannot be read: %w", err)
		}
		if len(value) > maxFormFieldBytes {
			return nil, "", nil, fmt.Errorf("the form field %q is longer than %d bytes", part.FormName(), maxFormFieldBytes)
		}
		fields.Add(part.FormName(), string(value))
	}
}

// Bounds of the form fields an upload may send before its file.
const (
	maxFormFields     = 16
	maxFormFieldBytes = 1024
)
