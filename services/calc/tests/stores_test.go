package tests

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrydb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatabus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatadb"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// stores are calc's stores over one test database of their own.
type stores struct {
	pool       *pgxpool.Pool
	factors    *factordb.Store
	recalc     *recalcdb.Store
	datasets   *datasetdb.Store
	entries    *entrydb.Store
	reportData *reportdatadb.Store
}

func newStores(t *testing.T) stores {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations})
	return stores{
		pool:    pool,
		factors: factordb.NewStore(pool), recalc: recalcdb.NewStore(pool), datasets: datasetdb.NewStore(pool),
		entries: entrydb.NewStore(pool), reportData: reportdatadb.NewStore(pool),
	}
}

// rollups are a lab's rollups of a year, as the reporting service reads
// them.
func (s stores) rollups(ctx context.Context, t *testing.T, lab uuid.UUID, year int32) []reportdatabus.Rollup {
	t.Helper()
	figures, err := s.reportData.Figures(ctx, []uuid.UUID{lab}, []int32{year})
	if err != nil {
		t.Fatal(err)
	}
	return figures.Rollups
}

// newSwissLab returns a Swiss lab, the default factors loaded and its
// entries written as an admin, where the recalculation tests start.
func newSwissLab(t *testing.T) (*slog.Logger, stores, *factorbus.Cache, *authz.Authorizer, uuid.UUID, countries, *entrybus.Entries) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := newStores(t)
	cache := factorbus.NewCache(store.factors)
	if err := cache.LoadDefault(adminCtx); err != nil {
		t.Fatal(err)
	}
	authorizer := authz.NewAuthorizer(noGrants{}, authz.Config{})
	lab := uuid.New()
	labs := countries{lab: "CH"}
	return logger, store, cache, authorizer, lab, labs, entrybus.NewEntries(store.entries, authorizer, labs, cache)
}

// swissGrid2 uploads and syncs dataset "grid" version 2 (the Swiss grid at
// 0.15 kg/kWh for 2025), queueing on a test queue of its own, and returns
// the datasets that activate it.
func swissGrid2(t *testing.T, queueName string, logger *slog.Logger, store stores, authorizer *authz.Authorizer, cache *factorbus.Cache) *datasetbus.Datasets {
	t.Helper()
	tasks := jobqueuetest.New(t, queueName)
	queue := calcqueue.New(tasks.Queue, calcqueue.Config{RecalcDelay: 0})
	datasets := datasetbus.NewDatasets(logger, store.datasets, authorizer, queue, recalcbus.NewAsks(logger, store.recalc, queue), cache, datasetbus.Config{MaxUploadBytes: 1 << 20})
	version, err := datasets.Upload(adminCtx, "grid", "2", "", strings.NewReader(header+"grid,2,electricity,electricity_grid,location,CH,2025,0.15,kWh,test figure,CC0,AR6,life_cycle,,10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.Sync(adminCtx, version.ID); err != nil {
		t.Fatal(err)
	}
	return datasets
}
