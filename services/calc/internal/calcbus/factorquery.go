package calcbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
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

// Recalculation is one recalculation of a lab/year/kind.
type Recalculation struct {
	ID uuid.UUID
	RecalcTarget
	FromVersions      []string
	To                factors.VersionRef
	Activities        int64
	KgBefore, KgAfter float64
	State, Message    string
	StartedAt         time.Time
	FinishedAt        time.Time
}

// SupersededEmission is an emission as it was before a recalculation.
type SupersededEmission struct {
	ledger.Emission
	RecalculationID uuid.UUID
	SupersededAt    time.Time
}

// FactorStore reads dataset versions and recalculations.
type FactorStore interface {
	ListDatasetVersions(ctx context.Context) ([]DatasetVersion, error)
	// GetDatasetVersion returns ErrNotFound for an unknown version; with
	// its refused rows.
	GetDatasetVersion(ctx context.Context, dataset, version string) (DatasetVersion, error)
	// ListActivations returns every activation, newest first.
	ListActivations(ctx context.Context) ([]Activation, error)
	ListRecalculations(ctx context.Context, labID uuid.UUID, year int32) ([]Recalculation, error)
	// ActivityLab returns the lab of an activity; ErrNotFound when unknown.
	ActivityLab(ctx context.Context, activityID uuid.UUID) (uuid.UUID, error)
	ListSupersededEmissions(ctx context.Context, activityID uuid.UUID) ([]SupersededEmission, error)
}

// FactorQueries show the factor datasets to anyone signed in, and a lab's
// recalculations to those who see the lab.
type FactorQueries struct {
	store FactorStore
	cache *factorbus.Cache
	authz *authz.Authorizer
}

// NewFactorQueries returns the factor queries.
func NewFactorQueries(store FactorStore, cache *factorbus.Cache, authorizer *authz.Authorizer) *FactorQueries {
	return &FactorQueries{store: store, cache: cache, authz: authorizer}
}

// InForce is the version that computes a year, and why.
type InForce struct {
	Year int32
	factors.VersionRef
	Note string
}

// DatasetsAnswer lists dataset versions and activations.
type DatasetsAnswer struct {
	Versions    []DatasetVersion
	Activations []Activation
	// InForce is set when a year was asked.
	InForce *InForce
}

// Datasets lists the dataset versions with the years each computes, every
// activation, and, when year is not 0, which version computes it.
func (q *FactorQueries) Datasets(ctx context.Context, year int32) (DatasetsAnswer, error) {
	if _, err := q.authz.For(ctx); err != nil {
		return DatasetsAnswer{}, err
	}
	versions, err := q.store.ListDatasetVersions(ctx)
	if err != nil {
		return DatasetsAnswer{}, err
	}
	activations, err := q.store.ListActivations(ctx)
	if err != nil {
		return DatasetsAnswer{}, err
	}
	// The newest activation of a year is in force.
	inForce := map[int32]factors.VersionRef{}
	for _, activation := range activations {
		if _, seen := inForce[activation.Year]; !seen {
			inForce[activation.Year] = factors.VersionRef{Dataset: activation.Dataset, Version: activation.Version}
		}
	}
	for i := range versions {
		v := &versions[i]
		ref := factors.VersionRef{Dataset: v.Dataset, Version: v.Version}
		for y, active := range inForce {
			if active == ref {
				v.ActiveYears = append(v.ActiveYears, y)
			}
		}
		slices.Sort(v.ActiveYears)
		v.Active = len(v.ActiveYears) > 0 || ref == factors.Bundled
	}
	answer := DatasetsAnswer{Versions: versions, Activations: activations}
	if year != 0 {
		ref, activated, err := q.cache.InForce(ctx, year)
		if err != nil {
			return DatasetsAnswer{}, err
		}
		note := fmt.Sprintf("active: %s (bundled, no activation)", ref)
		if activated {
			note = fmt.Sprintf("active: %s (activated)", ref)
		}
		answer.InForce = &InForce{Year: year, VersionRef: ref, Note: note}
	}
	return answer, nil
}

// Version returns one dataset version with its sync job's outcome.
func (q *FactorQueries) Version(ctx context.Context, dataset, version string) (DatasetVersion, error) {
	if _, err := q.authz.For(ctx); err != nil {
		return DatasetVersion{}, err
	}
	found, err := q.store.GetDatasetVersion(ctx, dataset, version)
	if errors.Is(err, ErrNotFound) {
		return DatasetVersion{}, apperr.NotFound("no factor dataset %s has a version %s", dataset, version)
	}
	return found, err
}

// Recalculations lists a lab's recalculations, newest first.
func (q *FactorQueries) Recalculations(ctx context.Context, labID string, year int32) ([]Recalculation, error) {
	access, err := q.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	if err := access.Require(id.String(), authz.View, apperr.NotFound("no lab has id %s", labID)); err != nil {
		return nil, err
	}
	return q.store.ListRecalculations(ctx, id, year)
}

// Superseded lists the emissions recalculations replaced for an activity.
func (q *FactorQueries) Superseded(ctx context.Context, activityID string) ([]SupersededEmission, error) {
	access, err := q.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	notFound := apperr.NotFound("no activity has id %s", activityID)
	id, err := uuid.Parse(activityID)
	if err != nil {
		return nil, apperr.Invalid("activity_id", "%q is not an activity id (a UUID)", activityID)
	}
	labID, err := q.store.ActivityLab(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if err := access.Require(labID.String(), authz.View, notFound); err != nil {
		return nil, err
	}
	return q.store.ListSupersededEmissions(ctx, id)
}
