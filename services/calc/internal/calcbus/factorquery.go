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

// FactorStore reads dataset versions and recalculations.
type FactorStore interface {
	ListDatasetVersions(ctx context.Context) ([]DatasetVersion, error)
	// GetDatasetVersion returns ErrNotFound for an unknown version; with
	// its refused rows.
	GetDatasetVersion(ctx context.Context, dataset, version string) (DatasetVersion, error)
	// ListActivations returns every activation, newest first.
	ListActivations(ctx context.Context) ([]Activation, error)
}

// FactorQueries show the factor datasets to anyone signed in.
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
