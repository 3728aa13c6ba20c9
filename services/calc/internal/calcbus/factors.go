package calcbus

import (
	"context"
	"fmt"
	"sync"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// The dataset version computations use until factor datasets can be
// activated per year.
const (
	DefaultDataset = "default"
	DefaultVersion = "2026.1"
)

// FactorCache loads the active factor set once.
type FactorCache struct {
	store Store
	mu    sync.Mutex
	set   *factors.Set
}

// NewFactorCache returns a cache over store.
func NewFactorCache(store Store) *FactorCache { return &FactorCache{store: store} }

// LoadDefault adds the bundled dataset's factors to the store (idempotent).
func (c *FactorCache) LoadDefault(ctx context.Context) error {
	all, err := factors.Default()
	if err != nil {
		return fmt.Errorf("bundled factor dataset: %w", err)
	}
	return c.store.EnsureFactors(ctx, all)
}

// Active returns the factors in force.
func (c *FactorCache) Active(ctx context.Context) (*factors.Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != nil {
		return c.set, nil
	}
	all, err := c.store.Factors(ctx, DefaultDataset, DefaultVersion)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no factors in dataset %s %s", DefaultDataset, DefaultVersion)
	}
	c.set = factors.NewSet(all)
	return c.set, nil
}
