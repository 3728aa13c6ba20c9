package reportingbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Export states.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// Export is a detailed export of a lab and year.
type Export struct {
	ID             uuid.UUID
	LabID          uuid.UUID
	Year           int32
	IncludeSublabs bool
	LabIDs         []uuid.UUID
	Status         string
	Error          string
	Rows           int64
	SizeBytes      int64
	Attempts       int32
	CreatedBy      string
	CreatedAt      time.Time
	FinishedAt     *time.Time
}

// ErrExportNotFound is returned by the store for an unknown export.
var ErrExportNotFound = errors.New("export not found")

// ExportStore keeps exports and their ZIPs.
type ExportStore interface {
	CreateExport(ctx context.Context, export Export) (Export, error)
	GetExport(ctx context.Context, labID, id uuid.UUID) (Export, error)
	// StartExport marks a queued or interrupted export running; found is
	// false when it is finished (or unknown).
	StartExport(ctx context.Context, id uuid.UUID) (export Export, found bool, err error)
	// WriteExport replaces the export's ZIP with what write writes, then
	// marks it done with rows, in one transaction.
	WriteExport(ctx context.Context, id uuid.UUID, write func(w io.Writer) (rows int64, err error)) error
	FailExport(ctx context.Context, id uuid.UUID, reason string) error
	// StaleQueuedExports lists exports still queued olderThan after they
	// were made.
	StaleQueuedExports(ctx context.Context, olderThan time.Duration) ([]uuid.UUID, error)
	// ReadExport copies the export's ZIP to w.
	ReadExport(ctx context.Context, id uuid.UUID, w func(chunk []byte) error) error
}

// ExportQueue hands exports to the workers.
type ExportQueue interface {
	Enqueue(ctx context.Context, exportID uuid.UUID) error
}

// Exports creates, shows and runs detailed exports.
type Exports struct {
	reports *Reports
	store   ExportStore
	queue   ExportQueue
	logger  *slog.Logger
	// maxAttempts is how many times an export is tried before it fails.
	maxAttempts int32
}

// NewExports returns the exports.
func NewExports(reports *Reports, store ExportStore, queue ExportQueue, logger *slog.Logger, maxAttempts int32) *Exports {
	return &Exports{reports: reports, store: store, queue: queue, logger: logger, maxAttempts: maxAttempts}
}

// Create records an export of labID and year and queues it.
func (e *Exports) Create(ctx context.Context, labID string, year int32, includeSublabs bool) (Export, error) {
	if err := e.reports.authorize(ctx, labID, authz.Export); err != nil {
		return Export{}, err
	}
	if err := CheckYear(year); err != nil {
		return Export{}, err
	}
	ids, err := e.reports.labIDs(ctx, labID, includeSublabs)
	if err != nil {
		return Export{}, err
	}
	principal, _ := authn.FromContext(ctx)
	exportID, err := uuid.NewV7()
	if err != nil {
		return Export{}, fmt.Errorf("export id: %w", err)
	}
	export := Export{ID: exportID, Year: year, IncludeSublabs: includeSublabs, CreatedBy: principal.Subject}
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
	if err := e.queue.Enqueue(ctx, export.ID); err != nil {
		return Export{}, fmt.Errorf("queue export %s: %w", export.ID, err)
	}
	return export, nil
}

// Get returns an export of labID.
func (e *Exports) Get(ctx context.Context, labID, id string) (Export, error) {
	if err := e.reports.authorize(ctx, labID, authz.Export); err != nil {
		return Export{}, err
	}
	exportID, err := uuid.Parse(id)
	if err != nil {
		return Export{}, apperr.Invalid("id", "%q is not an export id (a UUID)", id)
	}
	export, err := e.store.GetExport(ctx, uuid.MustParse(labID), exportID) // checked by authorize
	if errors.Is(err, ErrExportNotFound) {
		return Export{}, apperr.NotFound("no export %s of lab %s", id, labID)
	}
	return export, err
}

// Download sends the ZIP of a finished export to send, chunk by chunk.
func (e *Exports) Download(ctx context.Context, labID, id string, send func(chunk []byte) error) error {
	export, err := e.Get(ctx, labID, id)
	if err != nil {
		return err
	}
	if export.Status != ExportDone {
		return apperr.FailedPrecondition("export %s is %s, not done: download it once GET .../exports/%s says done", id, export.Status, id)
	}
	return e.store.ReadExport(ctx, export.ID, send)
}

// Requeue queues again the exports still waiting olderThan after they were
// made: PostgreSQL holds the truth, and a task Redis lost is rebuilt (one
// still queued is left alone, its TaskID being the export id).
func (e *Exports) Requeue(ctx context.Context, olderThan time.Duration) (int, error) {
	ids, err := e.store.StaleQueuedExports(ctx, olderThan)
	if err != nil {
		return 0, fmt.Errorf("stale exports: %w", err)
	}
	for _, id := range ids {
		if err := e.queue.Enqueue(ctx, id); err != nil {
			return 0, fmt.Errorf("queue export %s: %w", id, err)
		}
	}
	return len(ids), nil
}

// Run writes the ZIP of an export, the work of the report:export task.
func (e *Exports) Run(ctx context.Context, id uuid.UUID) error {
	export, found, err := e.store.StartExport(ctx, id)
	if err != nil || !found {
		return err
	}
	labIDs := make([]string, 0, len(export.LabIDs))
	for _, labID := range export.LabIDs {
		labIDs = append(labIDs, labID.String())
	}
	err = e.store.WriteExport(ctx, id, func(w io.Writer) (int64, error) {
		return WriteExportZIP(ctx, w, e.reports.calc, labIDs, export.Year)
	})
	if err == nil {
		e.logger.InfoContext(ctx, "export done", "export", id)
		return nil
	}
	if export.Attempts < e.maxAttempts && ctx.Err() == nil {
		return fmt.Errorf("export %s, attempt %d: %w", id, export.Attempts, err)
	}
	e.logger.WarnContext(ctx, "export failed", "export", id, "error", err)
	return e.store.FailExport(context.WithoutCancel(ctx), id, err.Error())
}
