package calcbus

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
)

// FactorFilter narrows a factor search; empty fields match anything.
type FactorFilter struct {
	Dataset, Version, Kind, EmissionType, Classification, Region string
	Year                                                         int32
}

// DatasetVersion is a version of a factor dataset.
type DatasetVersion struct {
	Dataset, Version    string
	Factors             int64
	FirstYear, LastYear int32
	Licences            []string
	Active              bool
}

// FactorStore searches factors.
type FactorStore interface {
	SearchFactors(ctx context.Context, filter FactorFilter, after *uuid.UUID, limit int32) ([]factors.Factor, error)
	ListFactorDatasets(ctx context.Context) ([]DatasetVersion, error)
}

// FactorQueries show the factors to anyone signed in.
type FactorQueries struct {
	store FactorStore
	authz *authz.Authorizer
}

// NewFactorQueries returns the factor queries.
func NewFactorQueries(store FactorStore, authorizer *authz.Authorizer) *FactorQueries {
	return &FactorQueries{store: store, authz: authorizer}
}

// FactorPage is a page of factors.
type FactorPage struct {
	Factors       []factors.Factor
	NextPageToken string
}

// List returns a page of factors.
func (q *FactorQueries) List(ctx context.Context, filter FactorFilter, pageSize int32, pageToken string) (FactorPage, error) {
	if _, err := q.authz.For(ctx); err != nil {
		return FactorPage{}, err
	}
	size, err := pagetoken.Size(pageSize)
	if err != nil {
		return FactorPage{}, err
	}
	filterKey := fmt.Sprintf("%+v", filter)
	var cursor struct {
		After uuid.UUID `json:"a"`
	}
	found, err := pagetoken.Decode(pageToken, filterKey, &cursor)
	if err != nil {
		return FactorPage{}, err
	}
	var after *uuid.UUID
	if found {
		after = &cursor.After
	}
	all, err := q.store.SearchFactors(ctx, filter, after, size+1)
	if err != nil {
		return FactorPage{}, err
	}
	page := FactorPage{Factors: all}
	if int32(len(all)) > size {
		page.Factors = all[:size]
		cursor.After = page.Factors[size-1].ID
		page.NextPageToken, err = pagetoken.Encode(cursor, filterKey)
	}
	return page, err
}

// Datasets lists the dataset versions, marking the one in force.
func (q *FactorQueries) Datasets(ctx context.Context) ([]DatasetVersion, error) {
	if _, err := q.authz.For(ctx); err != nil {
		return nil, err
	}
	versions, err := q.store.ListFactorDatasets(ctx)
	for i := range versions {
		versions[i].Active = versions[i].Dataset == DefaultDataset && versions[i].Version == DefaultVersion
	}
	return versions, err
}
