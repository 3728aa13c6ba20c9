package datasetbus

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// InForce is the version that computes a year, and why.
type InForce struct {
	Year int32
	factors.VersionRef
	Note string
}

// Listing is the dataset versions and activations.
type Listing struct {
	Versions    []DatasetVersion
	Activations []Activation
	// InForce is set when a year was asked.
	InForce *InForce
}

// List lists the dataset versions with the years each computes, every
// activation, and, when year is not 0, which version computes it.
func (d *Datasets) List(ctx context.Context, year int32) (Listing, error) {
	if _, err := d.authz.For(ctx); err != nil {
		return Listing{}, err
	}
	versions, err := d.store.ListDatasetVersions(ctx)
	if err != nil {
		return Listing{}, err
	}
	activations, err := d.store.ListActivations(ctx)
	if err != nil {
		return Listing{}, err
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
	answer := Listing{Versions: versions, Activations: activations}
	if year != 0 {
		ref, activated, err := d.inForce.InForce(ctx, year)
		if err != nil {
			return Listing{}, err
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
func (d *Datasets) Version(ctx context.Context, dataset, version string) (DatasetVersion, error) {
	if _, err := d.authz.For(ctx); err != nil {
		return DatasetVersion{}, err
	}
	found, err := d.store.GetDatasetVersion(ctx, dataset, version)
	if errors.Is(err, ErrNotFound) {
		return DatasetVersion{}, apperr.NotFound("no factor dataset %s has a version %s", dataset, version)
	}
	return found, err
}
