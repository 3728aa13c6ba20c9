// Package clients are calc's Connect clients of the other services: the
// workers call ingest (job leases, files) and labs (countries) with the
// service's own token; requests call labs with their caller's token
// (countries for single entries, the caller's lab roles).
package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/importbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/cache"
	"github.com/co2-calculator/co2-calculator/services/platform/chunkstream"
)

// Jobs implements importbus.Jobs over ingest's ImportWorkerService.
type Jobs struct {
	client ingestv1connect.ImportWorkerServiceClient
}

// NewJobs returns a client of ingest at baseURL. Files come uncompressed:
// inside the cluster, gzip costs both sides more CPU than it saves.
func NewJobs(httpClient *http.Client, baseURL string, options ...connect.ClientOption) *Jobs {
	options = append(options, connect.WithAcceptCompression("gzip", nil, nil))
	return &Jobs{client: ingestv1connect.NewImportWorkerServiceClient(httpClient, baseURL, options...)}
}

// lost turns ingest's "not yours" into the business error.
func lost(err error, sentinel error) error {
	if connect.CodeOf(err) == connect.CodeFailedPrecondition {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

func (j *Jobs) Claim(ctx context.Context, jobID, worker string) (importbus.Job, time.Duration, error) {
	res, err := j.client.ClaimJob(ctx, connect.NewRequest(&ingestv1.ClaimJobRequest{JobId: jobID, WorkerId: worker}))
	if err != nil {
		return importbus.Job{}, 0, lost(err, importbus.ErrNotClaimable)
	}
	job := res.Msg.GetJob()
	id, err := uuid.Parse(job.GetId())
	if err != nil {
		return importbus.Job{}, 0, err
	}
	labID, err := uuid.Parse(job.GetLabId())
	if err != nil {
		return importbus.Job{}, 0, err
	}
	return importbus.Job{ID: id, LabID: labID, Year: job.GetYear(), Kind: job.GetKind(), Mode: job.GetMode(), Module: job.GetModule()},
		time.Duration(res.Msg.GetLeaseSeconds()) * time.Second, nil
}

func (j *Jobs) Heartbeat(ctx context.Context, jobID, worker string, rowsProcessed int64) (bool, error) {
	res, err := j.client.ReportProgress(ctx, connect.NewRequest(&ingestv1.ReportProgressRequest{JobId: jobID, WorkerId: worker, RowsProcessed: rowsProcessed}))
	if err != nil {
		return false, lost(err, importbus.ErrLeaseLost)
	}
	return res.Msg.GetCancelRequested(), nil
}

func (j *Jobs) ReadFile(ctx context.Context, jobID, worker string) (io.ReadCloser, error) {
	stream, err := j.client.ReadFile(ctx, connect.NewRequest(&ingestv1.ReadFileRequest{JobId: jobID, WorkerId: worker}))
	if err != nil {
		return nil, lost(err, importbus.ErrLeaseLost)
	}
	return leasedFile{Reader: chunkstream.Download(stream, (*ingestv1.ReadFileResponse).GetChunk), Closer: stream}, nil
}

// leasedFile reads a job's file; ingest's "not yours" ends it with
// ErrLeaseLost.
type leasedFile struct {
	io.Reader
	io.Closer
}

func (f leasedFile) Read(p []byte) (int, error) {
	n, err := f.Reader.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = lost(err, importbus.ErrLeaseLost)
	}
	return n, err
}

func (j *Jobs) Release(ctx context.Context, jobID, worker, reason string, countAttempt bool) error {
	_, err := j.client.ReleaseJob(ctx, connect.NewRequest(&ingestv1.ReleaseJobRequest{JobId: jobID, WorkerId: worker, Reason: reason, CountAttempt: countAttempt}))
	return lost(err, importbus.ErrLeaseLost)
}

func (j *Jobs) Finish(ctx context.Context, jobID, worker string, outcome importbus.Outcome) error {
	req := &ingestv1.FinishJobRequest{
		JobId: jobID, WorkerId: worker, Result: outcome.Result, StatusMessage: outcome.StatusMessage,
		RowsTotal: outcome.RowsTotal, RowsOk: outcome.RowsOK, RowsRejected: outcome.RowsRejected,
	}
	for _, rowErr := range outcome.Errors {
		req.Errors = append(req.Errors, &ingestv1.RowError{Row: rowErr.Row, Column: rowErr.Column, Message: rowErr.Message})
	}
	_, err := j.client.FinishJob(ctx, connect.NewRequest(req))
	return lost(err, importbus.ErrLeaseLost)
}

// LabCacheConfig is how long and how many labs' countries are kept: a
// lab's country rarely changes, and a changed one counts for new
// computations after at most the TTL.
type LabCacheConfig struct {
	TTL  time.Duration `env:"LAB_CACHE_TTL, default=5m"`
	Size int           `env:"LAB_CACHE_SIZE, default=10000"`
}

// Labs implements entrybus.Labs over labs' LabsInternalService, as
// the service (workers).
type Labs struct {
	client    labsv1connect.LabsInternalServiceClient
	countries *cache.Cache[uuid.UUID, string]
}

// NewLabs returns a client of labs at baseURL.
func NewLabs(httpClient *http.Client, baseURL string, cfg LabCacheConfig, options ...connect.ClientOption) *Labs {
	return &Labs{client: labsv1connect.NewLabsInternalServiceClient(httpClient, baseURL, options...), countries: cache.New[uuid.UUID, string](cfg.Size, cfg.TTL)}
}

// Country returns the lab's ISO 3166-1 alpha-2 country.
func (l *Labs) Country(ctx context.Context, labID uuid.UUID) (string, error) {
	return l.countries.Get(ctx, labID, func(ctx context.Context) (string, error) {
		res, err := l.client.BatchGetLabs(ctx, connect.NewRequest(&labsv1.BatchGetLabsRequest{Ids: []string{labID.String()}}))
		if err != nil {
			return "", err
		}
		if len(res.Msg.GetLabs()) == 0 {
			return "", errors.New("the lab no longer exists")
		}
		return res.Msg.GetLabs()[0].GetCountry(), nil
	})
}

// LabsAsCaller implements entrybus.Labs and authz.GrantSource over
// labs' public API, with the caller's own token (whoever may add data to a
// lab may read it). The countries' cache holds no access decision: callers
// are authorized before they get here.
type LabsAsCaller struct {
	client    labsv1connect.LabsServiceClient
	countries *cache.Cache[uuid.UUID, string]
}

// NewLabsAsCaller returns a client of labs at baseURL forwarding the
// caller's token.
func NewLabsAsCaller(httpClient *http.Client, baseURL string, cfg LabCacheConfig, options ...connect.ClientOption) *LabsAsCaller {
	options = append(options, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &LabsAsCaller{client: labsv1connect.NewLabsServiceClient(httpClient, baseURL, options...), countries: cache.New[uuid.UUID, string](cfg.Size, cfg.TTL)}
}

// Country returns the lab's country.
func (l *LabsAsCaller) Country(ctx context.Context, labID uuid.UUID) (string, error) {
	return l.countries.Get(ctx, labID, func(ctx context.Context) (string, error) {
		res, err := l.client.GetLab(ctx, connect.NewRequest(&labsv1.GetLabRequest{Id: labID.String()}))
		if err != nil {
			return "", err
		}
		return res.Msg.GetLab().GetCountry(), nil
	})
}

// Grants returns the caller's lab roles (labs' GetMe, as the caller).
func (l *LabsAsCaller) Grants(ctx context.Context, _ authn.Principal) ([]authz.Grant, error) {
	me, err := l.client.GetMe(ctx, connect.NewRequest(&labsv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	return authz.GrantsOf(me.Msg.GetLabs()), nil
}
