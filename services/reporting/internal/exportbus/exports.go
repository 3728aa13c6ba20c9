// Package exportbus runs the detailed exports of a lab's year: who may ask
// for one, the ZIP a worker writes under a lease, the safety net that
// queues lost exports again, and the retention of their ZIPs.
package exportbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Export states.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
	// ExportExpired: done, and its ZIP deleted after EXPORT_RETENTION.
	ExportExpired = "expired"
)

// Export is a detailed export of a lab and year.
type Export struct {
	ID             uuid.UUID   `json:"id"`
	LabID          uuid.UUID   `json:"lab_id"`
	Year           int32       `json:"year"`
	IncludeSublabs bool        `json:"include_sublabs"`
	LabIDs         []uuid.UUID `json:"lab_ids"`
	Status         string      `json:"status"`
	Error          string      `json:"error"`
	Rows           int64       `json:"rows"`
	SizeBytes      int64       `json:"size_bytes"`
	Attempts       int32       `json:"attempts"`
	MaxAttempts    int32       `json:"max_attempts"`
	LockedBy       string      `json:"locked_by"`
	CreatedBy      string      `json:"created_by"`
	CreatedAt      time.Time   `json:"created_at"`
	FinishedAt     *time.Time  `json:"finished_at"`
	// ExpiresAt is when the ZIP of a done export is deleted (nil: kept
	// forever, or not done); set by Get.
	ExpiresAt *time.Time `json:"expires_at"`
}

// ResourceExport names exports in the audit trail.
const ResourceExport = "export"

// CreatedEvent is the audit event of an export's creation, which the store
// records in the transaction that creates it.
func CreatedEvent(export Export) audit.Event {
	return audit.Event{LabID: export.LabID.String(), ResourceType: ResourceExport, ResourceID: export.ID.String(), Action: audit.ActionCreate, After: export}
}

// Errors of the store.
var (
	ErrExportNotFound = errors.New("export not found")
	// ErrLeaseLost is what a worker hears once the export is no longer its
	// own (its lease expired and the poller gave it to another attempt).
	ErrLeaseLost = errors.New("the export's lease was lost")
	// ErrExportExpired: the export's ZIP was deleted after its retention.
	ErrExportExpired = errors.New("export expired")
)

// ExportStore keeps exports and their ZIPs.
type ExportStore interface {
	// CreateExport stores a new export and records its CreatedEvent in the
	// same transaction.
	CreateExport(ctx context.Context, export Export) (Export, error)
	GetExport(ctx context.Context, labID, id uuid.UUID) (Export, error)
	// ClaimExport gives worker a queued export, or a running one whose
	// lease expired, until lease from now, and counts an attempt; found is
	// false when it cannot be claimed (finished, held by another worker,
	// out of attempts, or unknown).
	ClaimExport(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) (export Export, found bool, err error)
	// RenewExportLease extends worker's lease; ErrLeaseLost when worker no
	// longer holds the export.
	RenewExportLease(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) error
	// WriteExport replaces the export's ZIP with what write writes, then
	// marks it done with rows, in one transaction, if worker still holds
	// it (ErrLeaseLost, and nothing kept, otherwise).
	WriteExport(ctx context.Context, id uuid.UUID, worker string, write func(w io.Writer) (rows int64, err error)) error
	// ReleaseExport puts worker's export back in the queue after a failed
	// attempt, saying why; ErrLeaseLost when worker no longer holds it.
	ReleaseExport(ctx context.Context, id uuid.UUID, worker, message string) error
	// FailExport ends worker's export as failed; ErrLeaseLost when worker
	// no longer holds it.
	FailExport(ctx context.Context, id uuid.UUID, worker, message string) error
	// InPollTx runs one pass of the safety net in a transaction.
	InPollTx(ctx context.Context, fn func(tx ExportPollTx) error) error
	// ExpireExports deletes the ZIPs of at most batch exports done longer
	// than olderThan ago, the oldest first, marks them expired and returns
	// their ids.
	ExpireExports(ctx context.Context, olderThan time.Duration, batch int32) ([]uuid.UUID, error)
	// ReadExport copies the export's ZIP to w, all of it or nothing
	// (ErrExportExpired once it has been deleted).
	ReadExport(ctx context.Context, id uuid.UUID, w func(chunk []byte) error) error
}

// ExportQueue hands exports to the workers.
type ExportQueue interface {
	// Enqueue queues an attempt at an export (attempts counts those made
	// so far); one already queued is left alone.
	Enqueue(ctx context.Context, exportID uuid.UUID, attempts int32) error
}

// ExportsConfig tunes exports: their attempts, the lease of the worker
// writing one, and the safety net.
type ExportsConfig struct {
	// Attempts is how many times an export is tried before it fails.
	Attempts int32 `env:"EXPORT_ATTEMPTS, default=3"`
	// Lease is how long a worker holds an export without renewing it (it
	// renews every third of it).
	Lease time.Duration `env:"EXPORT_LEASE, default=30s"`
	// PollInterval is how often the safety net looks: a queued export
	// waits this long before its task is queued again, and a failed
	// attempt at least this long before the next.
	PollInterval time.Duration `env:"EXPORT_POLL_INTERVAL, default=10s"`
	// PollBatch is how many exports one look takes at most, per question.
	PollBatch int32 `env:"EXPORT_POLL_BATCH, default=100"`
	// Retention is how long the ZIP of a done export is kept after it
	// finished; 0 keeps them forever. The export's row stays, expired.
	Retention time.Duration `env:"EXPORT_RETENTION, default=168h"`
	// RetentionBatch is how many ZIPs one look deletes at most.
	RetentionBatch int32 `env:"RETENTION_BATCH, default=10"`
}

// Exports creates, shows and runs detailed exports.
type Exports struct {
	reports *reportingbus.Reports
	calc    Calc
	store   ExportStore
	queue   ExportQueue
	logger  *slog.Logger
	cfg     ExportsConfig
	// worker names this process's workers in the leases they hold.
	worker string
	// attempts times the attempts of this process's workers, by result.
	attempts metric.Float64Histogram
}

// NewExports returns the exports, written by this process as worker.
func NewExports(reports *reportingbus.Reports, calc Calc, store ExportStore, queue ExportQueue, logger *slog.Logger, cfg ExportsConfig, worker string) *Exports {
	// A failure leaves a no-op instrument (the SDK logs it), never nil.
	attempts, _ := otel.Meter("co2-calculator/reporting").Float64Histogram("reporting.export.duration", metric.WithUnit("s"),
		metric.WithDescription("Attempts at exports, by result (done, retry, failed)"),
		metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
	return &Exports{reports: reports, calc: calc, store: store, queue: queue, logger: logger, cfg: cfg, worker: worker, attempts: attempts}
}

// Create records an export of labID and year and queues it.
func (e *Exports) Create(ctx context.Context, labID string, year int32, includeSublabs bool) (Export, error) {
	if err := e.reports.Authorize(ctx, labID, authz.Export); err != nil {
		return Export{}, err
	}
	if err := reportingbus.CheckYear(year); err != nil {
		return Export{}, err
	}
	ids, err := e.reports.LabIDs(ctx, labID, includeSublabs)
	if err != nil {
		return Export{}, err
	}
	principal, _ := authn.FromContext(ctx)
	exportID, err := uuid.NewV7()
	if err != nil {
		return Export{}, fmt.Errorf("export id: %w", err)
	}
	export := Export{ID: exportID, Year: year, IncludeSublabs: includeSublabs, MaxAttempts: e.cfg.Attempts, CreatedBy: principal.Subject}
	for _, id := range ids {
		parsed, err := uuid.Parse(id)
		if err != nil {
			return Export{}, fmt.Errorf("lab id %q from labs: %w", id, err)
		}
		export.LabIDs = append(export.LabIDs, parsed)
	}
	export.LabID = export.LabIDs[0]
	export, err = e.store.CreateExport(ctx, export)
	if err != nil {
		return Export{}, fmt.Errorf("create export: %w", err)
	}
	if err := e.queue.Enqueue(ctx, export.ID, 0); err != nil {
		// The export is stored: the safety net queues it.
		e.logger.WarnContext(ctx, "export not queued; the poller will queue it", "export", export.ID, "error", err)
	}
	return export, nil
}

// Get returns an export of labID.
func (e *Exports) Get(ctx context.Context, labID, id string) (Export, error) {
	if err := e.reports.Authorize(ctx, labID, authz.Export); err != nil {
		return Export{}, err
	}
	exportID, err := uuid.Parse(id)
	if err != nil {
		return Export{}, apperr.Invalid("id", "%q is not an export id (a UUID)", id)
	}
	return e.read(ctx, uuid.MustParse(labID), exportID) // checked by authorize
}

// read returns an export as Get does, without the authorization Get
// checked already.
func (e *Exports) read(ctx context.Context, labID, id uuid.UUID) (Export, error) {
	export, err := e.store.GetExport(ctx, labID, id)
	if errors.Is(err, ErrExportNotFound) {
		return Export{}, apperr.NotFound("no export %s of lab %s", id, labID)
	}
	if err != nil {
		return Export{}, err
	}
	if e.cfg.Retention > 0 && export.FinishedAt != nil && (export.Status == ExportDone || export.Status == ExportExpired) {
		expires := export.FinishedAt.Add(e.cfg.Retention)
		export.ExpiresAt = &expires
	}
	return export, nil
}

// Download sends the ZIP of a finished export to send, chunk by chunk.
func (e *Exports) Download(ctx context.Context, labID, id string, send func(chunk []byte) error) error {
	export, err := e.Get(ctx, labID, id)
	if err != nil {
		return err
	}
	if export.Status == ExportExpired {
		return e.expired(export)
	}
	if export.Status != ExportDone {
		return apperr.FailedPrecondition("export %s is %s, not done: download it once GET .../exports/%s says done", id, export.Status, id)
	}
	err = e.store.ReadExport(ctx, export.ID, send)
	if errors.Is(err, ErrExportExpired) {
		return e.expired(export) // deleted since Get
	}
	return err
}
