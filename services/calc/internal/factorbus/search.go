package factorbus

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
)

// Filter narrows a factor search; empty fields match anything.
type Filter struct {
	Dataset, Version, Kind, EmissionType, Classification, Region string
	Year                                                         int32
}

// SearchStore finds factors.
type SearchStore interface {
	SearchFactors(ctx context.Context, filter Filter, after *uuid.UUID, limit int32) ([]factors.Factor, error)
}

// Search shows the factors to anyone signed in.
type Search struct {
	store SearchStore
	authz *authz.Authorizer
}

// NewSearch returns the factor search.
func NewSearch(store SearchStore, authorizer *authz.Authorizer) *Search {
	return &Search{store: store, authz: authorizer}
}

// Page is a page of factors.
type Page struct {
	Factors       []factors.Factor
	NextPageToken string
}

// List returns a page of factors.
func (s *Search) List(ctx context.Context, filter Filter, pageSize int32, pageToken string) (Page, error) {
	if _, err := s.authz.For(ctx); err != nil {
		return Page{}, err
	}
	size, err := pagetoken.Size(pageSize)
	if err != nil {
		return Page{}, err
	}
	filterKey := fmt.Sprintf("%+v", filter)
	var cursor struct {
		After uuid.UUID `json:"a"`
	}
	found, err := pagetoken.Decode(pageToken, filterKey, &cursor)
	if err != nil {
		return Page{}, err
	}
	var after *uuid.UUID
	if found {
		after = &cursor.After
	}
	all, err := s.store.SearchFactors(ctx, filter, after, size+1)
	if err != nil {
		return Page{}, err
	}
	page := Page{Factors: all}
	if int32(len(all)) > size {
		page.Factors = all[:size]
		cursor.After = page.Factors[size-1].ID
		page.NextPageToken, err = pagetoken.Encode(cursor, filterKey)
	}
	return page, err
}
