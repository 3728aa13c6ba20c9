package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrydb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// Entries at once through a pool of one connection, on a process that
// has not read the factors yet: each reads them before its transaction
// opens, so none holds a connection while waiting for another to read
// them, and all are written well within the time a request has.
func TestEntriesOnAFreshProcessDoNotWaitForEachOther(t *testing.T) {
	config, err := pgxpool.ParseConfig(pgtest.NewDatabase(t, pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations}))
	if err != nil {
		t.Fatal(err)
	}
	config.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	inForce := factorbus.NewCache(factordb.NewStore(pool))
	if err := inForce.LoadDefault(adminCtx); err != nil {
		t.Fatal(err)
	}
	lab := uuid.New()
	entries := entrybus.NewEntries(entrydb.NewStore(pool), authz.NewAuthorizer(noGrants{}, authz.Config{}), countries{lab: "CH"}, inForce)

	ctx, cancel := context.WithTimeout(adminCtx, 10*time.Second)
	defer cancel()
	const clients = 8
	errs := make(chan error, clients)
	for i := range clients {
		go func() {
			_, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
				"equipment_name": fmt.Sprintf("PC %d", i), "category": "it", "active_hours_per_week": "40", "active_power_w": "60",
			})
			errs <- err
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
