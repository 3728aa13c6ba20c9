package calcbus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

// The bundled dataset version: it computes every year without an
// activation.
const (
	DefaultDataset = "default"
	DefaultVersion = "2026.1"
)

// VersionRef names a dataset version.
type VersionRef struct {
	Dataset, Version string
}

func (v VersionRef) String() string { return v.Dataset + " " + v.Version }

// FactorReader reads factors and activations: the store, or a writing
// transaction (which computes with what it reads on its own connection, so
// a writer holding a target's lock never waits for another connection).
type FactorReader interface {
	// Factors returns the factors of a dataset version.
	Factors(ctx context.Context, dataset, version string) ([]factors.Factor, error)
	// ActiveVersion returns the version activated for year; found is false
	// when the year has no activation.
	ActiveVersion(ctx context.Context, year int32) (VersionRef, bool, error)
	// GetContract returns a lab's declared electricity contract for a year
	// (market-based scope 2); ErrNotFound when it declared none.
	GetContract(ctx context.Context, labID uuid.UUID, year int32) (ContractRow, error)
}

// FactorSource is what the factor cache reads outside transactions.
type FactorSource interface {
	FactorReader
	// The labs' declared electricity contracts.
	ContractStore
	// EnsureFactors adds the factors a dataset lacks (existing ones stay),
	// and their dataset version's row.
	EnsureFactors(ctx context.Context, all []factors.Factor) error
}

// FactorCache answers which factors compute a year. The activation of a
// year is read at every call (one indexed row): an activation made through
// another replica counts for the next computation. The factor sets are
// cached per dataset version, which never changes once its sync finished
// (only finished versions can be activated).
type FactorCache struct {
	store FactorSource
	sets  *cache.Cache[VersionRef, *factors.Set]
}

// factorSetsKept bounds the versions whose factors are kept in memory
// (a year computes with one; a recalculation touches two).
const factorSetsKept = 16

// NewFactorCache returns a cache over store.
func NewFactorCache(store FactorSource) *FactorCache {
	return &FactorCache{store: store, sets: cache.New[VersionRef, *factors.Set](factorSetsKept, 24*time.Hour)}
}

// LoadDefault adds the bundled dataset's factors to the store (idempotent).
func (c *FactorCache) LoadDefault(ctx context.Context) error {
	all, err := factors.Default()
	if err != nil {
		return fmt.Errorf("bundled factor dataset: %w", err)
	}
	return c.store.EnsureFactors(ctx, all)
}

// InForce returns the version that computes year, and whether it was
// activated for it (otherwise it is the bundled default).
func (c *FactorCache) InForce(ctx context.Context, year int32) (VersionRef, bool, error) {
	return inForce(ctx, c.store, year)
}

func inForce(ctx context.Context, reader FactorReader, year int32) (VersionRef, bool, error) {
	ref, found, err := reader.ActiveVersion(ctx, year)
	if err != nil {
		return VersionRef{}, false, fmt.Errorf("factor version of %d: %w", year, err)
	}
	if !found {
		return VersionRef{DefaultDataset, DefaultVersion}, false, nil
	}
	return ref, true, nil
}

// Active returns the factors in force for year: the activated version's,
// completed by the bundled default's for the factors it does not define (a
// dataset may replace a few factors only; each emission names the one it
// used).
func (c *FactorCache) Active(ctx context.Context, reader FactorReader, year int32) (*factors.Set, VersionRef, error) {
	ref, _, err := inForce(ctx, reader, year)
	if err != nil {
		return nil, VersionRef{}, err
	}
	// A version in force has finished its sync and never changes again:
	// its set is kept once read. It is read through reader, the caller's
	// own connection: a writing transaction must never wait for a second
	// connection of the pool (concurrent writers would exhaust it).
	if set, ok := c.sets.Peek(ref); ok {
		return set, ref, nil
	}
	set, err := load(ctx, reader, ref)
	if err != nil {
		return nil, VersionRef{}, err
	}
	c.sets.Add(ref, set)
	return set, ref, nil
}

// load reads ref's factors, completed by the bundled default's.
func load(ctx context.Context, reader FactorReader, ref VersionRef) (*factors.Set, error) {
	all, err := reader.Factors(ctx, ref.Dataset, ref.Version)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no factors in dataset %s", ref)
	}
	if ref != (VersionRef{DefaultDataset, DefaultVersion}) {
		defaults, err := reader.Factors(ctx, DefaultDataset, DefaultVersion)
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
func (c *FactorCache) Env(ctx context.Context, tx FactorReader, country string, labID uuid.UUID, year int32) (kinds.Env, VersionRef, error) {
	set, ref, err := c.Active(ctx, tx, year)
	if err != nil {
		return kinds.Env{}, VersionRef{}, err
	}
	contract, err := contractFor(ctx, tx, labID, year)
	if err != nil {
		return kinds.Env{}, VersionRef{}, err
	}
	return kinds.Env{Year: year, LabCountry: country, Factors: set, Contract: contract}.Memoized(), ref, nil
}
