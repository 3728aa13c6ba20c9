package tests

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrydb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatabus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/reportdatadb"
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
