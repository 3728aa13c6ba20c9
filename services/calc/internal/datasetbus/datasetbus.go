// Package datasetbus administers factor dataset versions: an upload checked
// against the bundled file's header, the sync job that loads a version all
// or nothing, activation per year (which asks for recalculations), and
// their listing.
package datasetbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Sync job states of a dataset version.
const (
	SyncQueued   = "QUEUED"
	SyncRunning  = "RUNNING"
	SyncFinished = "FINISHED"
	SyncFailed   = "FAILED"
)

// DatasetVersion is a version of a factor dataset and its sync job.
type DatasetVersion struct {
	ID                  uuid.UUID
	Dataset, Version    string
	Description         string
	CreatedBy           string
	CreatedAt           time.Time
	State, Message      string
	RowsTotal           int64
	RowsRejected        int64
	FileSHA256          string
	Factors             int64
	FirstYear, LastYear int32
	Licences            []string
	// Active: it computes some year (the bundled default: every year
	// without an activation).
	Active      bool
	ActiveYears []int32
	// Errors are the refused rows (one version's answer only).
	Errors []RowError
}

// RowError is why a row of a dataset file was refused.
type RowError struct {
	Row     int64
	Column  string
	Message string
}

// ErrNotFound is what the store returns for an unknown version.
var ErrNotFound = errors.New("not found")

// Store keeps dataset versions, their uploads and activations.
type Store interface {
	// CreateUpload stores a new version (QUEUED) and its file in one
	// transaction: write receives the function that stores a chunk, and
	// returns the file's size and SHA-256. AlreadyExists when the version
	// exists.
	CreateUpload(ctx context.Context, version DatasetVersion, write func(store func([]byte) error) (int64, string, error)) error
	// SyncVersion runs a QUEUED version's sync in one transaction that
	// holds the version: load gets the version and its file and returns the
	// outcome, its factors and refused rows, which are written and the file
	// dropped. A worker that dies leaves the version QUEUED (nothing
	// written); a second task for it waits, then finds it synced (found is
	// false).
	SyncVersion(ctx context.Context, id uuid.UUID, load func(version DatasetVersion, file []byte) (DatasetVersion, []factors.Factor, []RowError)) (found bool, err error)
	// Activate records the activations and asks a recalculation of every
	// lab/year/kind with activities in their years, in one transaction;
	// CreateUpload and Activate record their audit events (UploadEvent,
	// ActivationEvent) in it too. Closed lab years are left out unless
	// force, and returned as skipped.
	Activate(ctx context.Context, activations []Activation, force bool) (targets []recalcbus.Target, skipped []SkippedYear, err error)
	// QueuedSyncs lists the (at most batch) versions whose sync job has not
	// started, the oldest first.
	QueuedSyncs(ctx context.Context, batch int32) ([]uuid.UUID, error)
	ListDatasetVersions(ctx context.Context) ([]DatasetVersion, error)
	// GetDatasetVersion returns ErrNotFound for an unknown version; with
	// its refused rows.
	GetDatasetVersion(ctx context.Context, dataset, version string) (DatasetVersion, error)
	// ListActivations returns every activation, newest first.
	ListActivations(ctx context.Context) ([]Activation, error)
}

// Activation makes a dataset version the one that computes a year.
type Activation struct {
	Year        int32     `json:"year"`
	Dataset     string    `json:"dataset"`
	Version     string    `json:"version"`
	ActivatedBy string    `json:"activated_by"`
	ActivatedAt time.Time `json:"activated_at"`
}

// What the audit trail names factor datasets' changes; they belong to no
// lab, so only the whole trail (GET /api/v1/audit) shows them.
const (
	ResourceDatasetVersion = "factor_dataset"
	ResourceActivation     = "factor_activation"
)

// UploadEvent is the audit event of a version's upload, which the store
// records in the transaction that stores it.
func UploadEvent(version DatasetVersion, size int64, sha256 string) audit.Event {
	return audit.Event{ResourceType: ResourceDatasetVersion, ResourceID: version.Dataset + "/" + version.Version, Action: audit.ActionUpload,
		After: map[string]any{
			"id": version.ID, "dataset": version.Dataset, "version": version.Version, "description": version.Description,
			"created_by": version.CreatedBy, "file_bytes": size, "file_sha256": sha256,
		}}
}

// activationRecord is an activation as the audit trail keeps it: whether
// an admin forced it, and the labs whose closed year it left as it was or,
// forced, recalculated all the same.
type activationRecord struct {
	Activation
	Force                  bool        `json:"force"`
	ClosedLabsSkipped      []uuid.UUID `json:"closed_labs_skipped,omitempty"`
	ClosedLabsRecalculated []uuid.UUID `json:"closed_labs_recalculated,omitempty"`
}

// ActivationEvent is the audit event of an activation: before is the
// activation it replaces for the year (nil: the bundled default computed it);
// closed are the labs whose year is closed and has data, skipped unless
// force.
func ActivationEvent(before *Activation, after Activation, force bool, closed []SkippedYear) audit.Event {
	record := activationRecord{Activation: after, Force: force}
	for _, year := range closed {
		if year.Year != after.Year {
			continue
		}
		if force {
			record.ClosedLabsRecalculated = append(record.ClosedLabsRecalculated, year.LabID)
		} else {
			record.ClosedLabsSkipped = append(record.ClosedLabsSkipped, year.LabID)
		}
	}
	event := audit.Event{ResourceType: ResourceActivation, ResourceID: fmt.Sprint(after.Year), Action: audit.ActionActivate, After: record}
	if before != nil {
		event.Before = *before
	}
	return event
}

// Config tunes factor dataset uploads.
type Config struct {
	// MaxUploadBytes bounds an uploaded factor file.
	MaxUploadBytes int64 `env:"FACTOR_UPLOAD_MAX_BYTES, default=67108864"`
}

// Datasets uploads, syncs, activates and lists factor dataset versions:
// admins change them, anyone signed in reads them.
type Datasets struct {
	logger  *slog.Logger
	store   Store
	authz   *authz.Authorizer
	queue   Queue
	asks    *recalcbus.Asks
	inForce *factorbus.Cache
	cfg     Config
}

// Queue wakes calc workers up for a dataset version's sync.
type Queue interface {
	EnqueueFactorsSync(ctx context.Context, versionID uuid.UUID) error
}

// NewDatasets returns the factor dataset administration.
func NewDatasets(logger *slog.Logger, store Store, authorizer *authz.Authorizer, queue Queue, asks *recalcbus.Asks, inForce *factorbus.Cache, cfg Config) *Datasets {
	return &Datasets{logger: logger, store: store, authz: authorizer, queue: queue, asks: asks, inForce: inForce, cfg: cfg}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (d *Datasets) requireAdmin(ctx context.Context) (*authz.Access, error) {
	access, err := d.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	if !access.CanEverywhere(authz.Administer) {
		return nil, apperr.PermissionDenied("factor datasets are changed by admins only")
	}
	return access, nil
}

// SkippedYear is a lab's closed year an activation did not recalculate.
type SkippedYear struct {
	LabID uuid.UUID
	Year  int32
}
