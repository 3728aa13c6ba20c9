// Package factorbus reads emission factors: which compute a lab's year
// (the dataset version in force, its factors kept in memory, the lab's
// electricity contract), and the factor search users see.
package factorbus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

// Activations tell which version computes a year.
type Activations interface {
	// ActiveVersion returns the version activated for year; found is false
	// when the year has no activation.
	ActiveVersion(ctx context.Context, year int32) (factors.VersionRef, bool, error)
}

// Sets read the factors of a dataset version.
type Sets interface {
	// Factors returns the factors of a dataset version.
	Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error)
}

// Reader reads what computes a lab's year in a writing transaction, which
// computes with what it reads on its own connection: a writer holding a
// target's lock never waits for another connection.
type Reader interface {
	Activations
	Sets
	// Contract returns a lab's declared electricity contract for a year
	// (market-based scope 2), nil when it declared none.
	Contract(ctx context.Context, labID uuid.UUID, year int32) (*kinds.Contract, error)
}

// Source is what the cache reads outside transactions.
type Source interface {
	Activations
	Sets
	// EnsureFactors adds the factors a dataset lacks (existing ones stay),
	// and their dataset version's row.
	EnsureFactors(ctx context.Context, all []factors.Factor) error
}

// Cache answers which factors compute a year. The activation of a year is
// read at every call (one indexed row): an activation made through another
// replica counts for the next computation. The factor sets are cached per
// dataset version, which never changes once its sync finished (only
// finished versions can be activated).
type Cache struct {
	source Source
	sets   *cache.Cache[factors.VersionRef, *factors.Set]
}

// setsKept bounds the versions whose factors are kept in memory (a year
// computes with one; a recalculation touches two).
const setsKept = 16

// NewCache returns a cache over source.
func NewCache(source Source) *Cache {
	return &Cache{source: source, sets: cache.New[factors.VersionRef, *factors.Set](setsKept, 24*time.Hour)}
}

// LoadDefault adds the bundled dataset's factors to the store (idempotent).
func (c *Cache) LoadDefault(ctx context.Context) error {
	all, err := factors.Default()
	if err != nil {
		return fmt.Errorf("bundled factor dataset: %w", err)
	}
	return c.source.EnsureFactors(ctx, all)
}

// InForce returns the version that computes year, and whether it was
// activated for it (otherwise it is the bundled default).
func (c *Cache) InForce(ctx context.Context, year int32) (factors.VersionRef, bool, error) {
	return inForce(ctx, c.source, year)
}

func inForce(ctx context.Context, reader Activations, year int32) (factors.VersionRef, bool, error) {
	ref, found, err := reader.ActiveVersion(ctx, year)
	if err != nil {
		return factors.VersionRef{}, false, fmt.Errorf("factor version of %d: %w", year, err)
	}
	if !found {
		return factors.Bundled, false, nil
	}
	return ref, true, nil
}

// Active returns the factors in force for year: the activated version's,
// completed by the bundled default's for the factors it does not define (a
// dataset may replace a few factors only; each emission names the one it
// used). Which version is in force is read through reader, the writing
// transaction, and so are its factors the first time: a transaction that
// had to wait for another connection to read them would hold its own
// meanwhile, and writers that fill the pool would wait on each other.
func (c *Cache) Active(ctx context.Context, reader Reader, year int32) (*factors.Set, factors.VersionRef, error) {
	ref, _, err := inForce(ctx, reader, year)
	if err != nil {
		return nil, factors.VersionRef{}, err
	}
	// A version in force has finished its sync and never changes again:
	// its set is read once and kept. It is read through the caller's
	// transaction, so in the caller's goroutine: a load left running after
	// the caller gave up would use the connection the caller is rolling
	// back.
	set, err := c.sets.GetOwn(ctx, ref, func(ctx context.Context) (*factors.Set, error) { return load(ctx, reader, ref) })
	return set, ref, err
}

// load reads ref's factors, completed by the bundled default's.
func load(ctx context.Context, reader Sets, ref factors.VersionRef) (*factors.Set, error) {
	all, err := reader.Factors(ctx, ref.Dataset, ref.Version)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no factors in dataset %s", ref)
	}
	if ref != factors.Bundled {
		defaults, err := reader.Factors(ctx, factors.Bundled.Dataset, factors.Bundled.Version)
		if err != nil {
			return nil, err
		}
		defined := map[factors.Key]bool{}
		for _, f := range all {
			defined[factors.Key{Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification, Region: f.Region}] = true
		}
		for _, f := range defaults {
			if !defined[factors.Key{Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification, Region: f.Region}] {
				all = append(all, f)
			}
		}
	}
	return factors.NewSet(all), nil
}

// Env is what a lab's activities of year are computed against, read
// through the writing transaction tx. Imports, single entries and
// recalculations all build it here, so the same row gives the same numbers
// whichever path computes it.
func (c *Cache) Env(ctx context.Context, tx Reader, country string, labID uuid.UUID, year int32) (kinds.Env, factors.VersionRef, error) {
	set, ref, err := c.Active(ctx, tx, year)
	if err != nil {
		return kinds.Env{}, factors.VersionRef{}, err
	}
	contract, err := tx.Contract(ctx, labID, year)
	if err != nil {
		return kinds.Env{}, factors.VersionRef{}, err
	}
	return kinds.Env{Year: year, LabCountry: country, Factors: set, Contract: contract}.Memoized(), ref, nil
}
