// Package ingestbus holds the rules of imports as users see them: what an
// upload must look like, who may import into which lab, the job's states,
// and the safety net that requeues lost work and retires old files. The
// workers' side of a job is package workerbus.
package ingestbus

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Job states and results.
const (
	StateNotStarted = "NOT_STARTED"
	StateQueued     = "QUEUED"
	StateRunning    = "RUNNING"
	StateFinished   = "FINISHED"

	ResultSuccess = "SUCCESS"
	ResultWarning = "WARNING"
	ResultError   = "ERROR"
)

// Job is an import job as stored.
type Job struct {
	ID              uuid.UUID  `json:"id"`
	LabID           uuid.UUID  `json:"lab_id"`
	Year            int32      `json:"year"`
	Kind            string     `json:"kind"`
	Module          string     `json:"module"`
	TargetType      string     `json:"target_type"`
	Method          string     `json:"method"`
	Mode            string     `json:"mode"`
	State           string     `json:"state"`
	Result          string     `json:"result"`
	StatusMessage   string     `json:"status_message"`
	RowsTotal       int64      `json:"rows_total"`
	RowsOK          int64      `json:"rows_ok"`
	RowsRejected    int64      `json:"rows_rejected"`
	RowsProcessed   int64      `json:"rows_processed"`
	Filename        string     `json:"filename"`
	FileSize        int64      `json:"file_size"`
	FileSHA256      string     `json:"file_sha256"`
	Attempts        int32      `json:"attempts"`
	MaxAttempts     int32      `json:"max_attempts"`
	LockedBy        string     `json:"locked_by"`
	CancelRequested bool       `json:"cancel_requested"`
	CreatedBy       string     `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	// TraceParent is the trace of the request that made the job (W3C
	// traceparent), which work queued again later links to.
	TraceParent string `json:"-"`
	// FileSweptAt is when the retention deleted the file (nil: kept).
	FileSweptAt *time.Time `json:"file_swept_at"`
	// FirstErrors is filled by Get: the first rejected rows.
	FirstErrors []RowError `json:"-"`
}

// RowError is why a row was rejected.
type RowError struct {
	Row     int64
	Column  string
	Message string
}

// Template is what ingest needs to know of a kind to check an upload.
type Template struct {
	Kind     string
	Module   string
	Required []string
}

// Templates tells the kinds the calculator takes (calc owns them).
type Templates interface {
	// Template returns ErrUnknownKind, wrapped with the known kinds, for a
	// kind that does not exist.
	Template(ctx context.Context, kind string) (Template, error)
}

// ErrUnknownKind is a kind the calculator does not take.
var ErrUnknownKind = errors.New("unknown kind")

// Labs tells whether a lab exists (labs owns them). A lab being purged
// does not (ADR 020).
type Labs interface {
	LabExists(ctx context.Context, labID uuid.UUID) (bool, error)
}

// Queue wakes a worker up for an attempt at a job (attempt counts the
// attempts made so far). Enqueueing an attempt already queued is not an
// error.
type Queue interface {
	Enqueue(ctx context.Context, jobID uuid.UUID, attempt int32) error
}

// Store keeps jobs, their files and row errors.
type Store interface {
	InTx(ctx context.Context, fn func(Store) error) error
	CreateJob(ctx context.Context, job Job) error
	// AddFileChunk and QueueUploadedJob return ErrNotFound once the job is
	// no longer receiving its file (cancelled, or given up as stalled).
	AddFileChunk(ctx context.Context, jobID uuid.UUID, seq int32, data []byte) error
	QueueUploadedJob(ctx context.Context, jobID uuid.UUID, size int64, sha256 string) error
	// DiscardUpload removes a job whose file failed to arrive, and the
	// pieces stored.
	DiscardUpload(ctx context.Context, jobID uuid.UUID) error
	// DeleteStalledUploads removes jobs whose file stopped arriving
	// stalledFor ago.
	DeleteStalledUploads(ctx context.Context, stalledFor time.Duration, batch int32) (int64, error)
	// GetJob returns ErrNotFound for an unknown id.
	GetJob(ctx context.Context, id uuid.UUID) (Job, error)
	ListJobs(ctx context.Context, labID uuid.UUID, before *JobCursor, limit int32) ([]Job, error)
	ListRowErrors(ctx context.Context, jobID uuid.UUID, afterSeq int32, limit int32) ([]RowError, []int32, error)
	// ClaimJob returns ErrNotFound when the job cannot be claimed.
	ClaimJob(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) (Job, error)
	// Heartbeat returns ErrNotFound when the worker no longer holds the job.
	Heartbeat(ctx context.Context, id uuid.UUID, worker string, lease time.Duration, rowsProcessed int64) (cancelRequested bool, err error)
	ReadFileChunks(ctx context.Context, jobID uuid.UUID, afterSeq int32, limit int32) ([][]byte, []int32, error)
	// FinishJob returns ErrNotFound when the worker no longer holds the job.
	FinishJob(ctx context.Context, id uuid.UUID, worker string, outcome Outcome) error
	// ReleaseJob returns the job's new state, or ErrNotFound when the
	// worker no longer holds the job.
	ReleaseJob(ctx context.Context, id uuid.UUID, worker, reason string, countAttempt bool, backoff time.Duration) (string, error)
	ReplaceRowErrors(ctx context.Context, jobID uuid.UUID, rowErrors []RowError) error
	// CancelJob returns ErrNotFound when the job is finished already.
	CancelJob(ctx context.Context, id uuid.UUID, message string) (Job, error)
	// RetryJob returns ErrNotFound unless the job is finished.
	RetryJob(ctx context.Context, id uuid.UUID) (Job, error)
	// Record appends an event to the audit trail, in the store's
	// transaction.
	Record(ctx context.Context, event audit.Event) error
	// QueuedJobsDue returns queued jobs (id and attempts made) waiting longer than grace.
	QueuedJobsDue(ctx context.Context, grace time.Duration, batch int32) ([]Job, error)
	TouchQueued(ctx context.Context, ids []uuid.UUID) error
	ExpiredLeases(ctx context.Context, batch int32) ([]Job, error)
	RequeueExpired(ctx context.Context, id uuid.UUID, message string) error
	FailExpired(ctx context.Context, id uuid.UUID, message string) error
	RetentionStore
	DuplicateStore
	PurgeStore
}

// Outcome is what a worker reports at the end of a job.
type Outcome struct {
	Result        string
	StatusMessage string
	RowsTotal     int64
	RowsOK        int64
	RowsRejected  int64
	// Errors are the first rejected rows; at most ErrorsKept are stored.
	Errors []RowError
}

// JobCursor is where a page of jobs starts.
type JobCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"i"`
}

// ErrNotFound is what a Store returns for a missing (or unavailable) row.
var ErrNotFound = errors.New("not found")

// Config tunes imports.
type Config struct {
	// MaxAttempts is how many times a job is tried before it fails.
	MaxAttempts int32 `env:"IMPORT_MAX_ATTEMPTS, default=3"`
	// Lease is how long a worker holds a job without a heartbeat.
	Lease time.Duration `env:"IMPORT_LEASE, default=30s"`
	// MaxUploadBytes bounds an uploaded file.
	MaxUploadBytes int64 `env:"MAX_UPLOAD_BYTES, default=536870912"`
	// ErrorsKept is how many rejected rows are kept per job (all are counted).
	ErrorsKept int `env:"IMPORT_ERRORS_KEPT, default=1000"`
	// ChunkBytes is the size of the pieces a file is stored and read in.
	ChunkBytes int `env:"IMPORT_CHUNK_BYTES, default=1048576"`
	// RetryBackoff is how long a job handed back after a passing fault
	// waits before its next attempt, doubled at each attempt.
	RetryBackoff time.Duration `env:"IMPORT_RETRY_BACKOFF, default=15s"`
	Retention    RetentionConfig
}

// Business is the import register.
type Business struct {
	logger    *slog.Logger
	store     Store
	authz     *authz.Authorizer
	templates Templates
	labs      Labs
	queue     Queue
	cfg       Config
	// imports counts the imports ended here rather than by a worker.
	imports metric.Int64Counter
}

// New returns the import register.
func New(logger *slog.Logger, store Store, authorizer *authz.Authorizer, templates Templates, labs Labs, queue Queue, cfg Config) *Business {
	return &Business{logger: logger, store: store, authz: authorizer, templates: templates, labs: labs, queue: queue, cfg: cfg,
		imports: ImportsCounter()}
}

// Get returns a job with its first rejected rows.
func (b *Business) Get(ctx context.Context, id string) (Job, error) {
	job, _, err := b.authorizedJob(ctx, id, authz.View)
	if err != nil {
		return Job{}, err
	}
	job.FirstErrors, _, err = b.store.ListRowErrors(ctx, job.ID, 0, 10)
	return job, err
}

// authorizedJob loads a job and checks the caller may do action on its lab.
func (b *Business) authorizedJob(ctx context.Context, id string, action authz.Action) (Job, *authz.Access, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return Job{}, nil, err
	}
	notFound := apperr.NotFound("no import has id %s", id)
	jobID, err := uuid.Parse(id)
	if err != nil {
		return Job{}, nil, apperr.Invalid("id", "%q is not an import id (a UUID)", id)
	}
	job, err := b.store.GetJob(ctx, jobID)
	if errors.Is(err, ErrNotFound) {
		return Job{}, nil, notFound
	}
	if err != nil {
		return Job{}, nil, err
	}
	if err := access.Require(job.LabID.String(), action, notFound); err != nil {
		return Job{}, nil, err
	}
	return job, access, nil
}

// readChunk reads up to len(buffer) bytes, less only at the end.
func readChunk(r io.Reader, buffer []byte) (int, error) {
	n, err := io.ReadFull(r, buffer)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, io.EOF
	}
	return n, err
}

// ResourceImport names imports in the audit trail: one event per change of
// an import (created with its mode, cancelled, retried, finished with its
// counts), never one per row.
const ResourceImport = "import"

// importEvent is the audit event of a change to job, before being nil for
// its creation.
func importEvent(action string, before *Job, after Job) audit.Event {
	event := audit.Event{LabID: after.LabID.String(), ResourceType: ResourceImport, ResourceID: after.ID.String(), Action: action, After: after}
	if before != nil {
		event.Before = *before
	}
	return event
}
