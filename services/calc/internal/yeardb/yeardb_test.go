package yeardb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yearbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yeardb"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

// A close waits for the writes in progress to the year, then the next
// writer finds it closed; closing it for every lab waits for writers of
// any lab, and a lab's own reopening outweighs it.
func TestClosingWaitsForTheWritersOfTheYear(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations})
	ctx := context.Background()
	store := yeardb.NewStore(pool)
	lab, other := uuid.New(), uuid.New()

	// writer holds the lab's year as every writer does, until release.
	writer := func(labID uuid.UUID) (release func()) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if open, err := ledgerdb.ShareYear(ctx, calcdb.New(tx), labID, 2025); err != nil || !open {
			t.Fatalf("writer: open %v, %v", open, err)
		}
		return func() { _ = tx.Commit(ctx) }
	}
	closes := func(close func() error) (done chan error) {
		done = make(chan error, 1)
		go func() { done <- close() }()
		return done
	}
	waits := func(what string, done chan error, release func()) {
		select {
		case err := <-done:
			t.Fatalf("%s did not wait for the writer: %v", what, err)
		case <-time.After(300 * time.Millisecond):
		}
		release()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never ended", what)
		}
	}

	release := writer(lab)
	waits("closing the lab's year", closes(func() error {
		_, err := store.SetYear(ctx, lab, 2025, ledger.YearStateClosed, "manager")
		return err
	}), release)
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		open, err := ledgerdb.ShareYear(ctx, calcdb.New(tx), lab, 2025)
		if err == nil && open {
			return errors.New("the next writer finds the year open")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetYear(ctx, lab, 2025, ledger.YearStateClosed, "manager"); !errors.Is(err, yearbus.ErrUnchanged) {
		t.Fatalf("closing a closed year: %v", err)
	}

	// The institution's close waits for a writer of another lab.
	release = writer(other)
	waits("closing the year for every lab", closes(func() error {
		_, err := store.CloseEverywhere(ctx, 2025, "admin")
		return err
	}), release)
	if year, err := store.GetYear(ctx, other, 2025); err != nil || year.State != ledger.YearStateClosed {
		t.Fatalf("the other lab after the institution's close: %+v, %v", year, err)
	}
	if _, err := store.SetYear(ctx, other, 2025, ledger.YearStateOpen, "admin"); err != nil {
		t.Fatal(err)
	}
	if year, err := store.GetYear(ctx, other, 2025); err != nil || year.State != ledger.YearStateOpen || year.ChangedBy != "admin" {
		t.Fatalf("the other lab reopened alone: %+v, %v", year, err)
	}
	if year, _ := store.GetYear(ctx, lab, 2025); year.State != ledger.YearStateClosed {
		t.Fatalf("the lab left closed: %+v", year)
	}
}

// The institution's close records, in its transaction, one event per lab it
// closes (a lab whose year was closed already has none) and one of no lab
// counting them; a refused close records nothing.
func TestClosingForEveryLabRecordsOneEventPerLabItCloses(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations})
	ctx := context.Background()
	store := yeardb.NewStore(pool)
	labs := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, lab := range labs { // a state in another year makes the lab known
		if _, err := store.SetYear(ctx, lab, 2019, ledger.YearStateClosed, "manager"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.SetYear(ctx, labs[2], 2025, ledger.YearStateClosed, "manager"); err != nil {
		t.Fatal(err)
	}
	events := func(labID *uuid.UUID) (count int) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT count(*) FROM calc.audit_events
			WHERE resource_type = 'reporting_year' AND resource_id = '2025' AND action = 'close'
			  AND after->>'every_lab' = 'true' AND lab_id IS NOT DISTINCT FROM $1
			  AND ($1::uuid IS NOT NULL OR after->>'labs_closed' = '2')`, labID).Scan(&count)
		if err != nil {
			t.Fatal(err)
		}
		return count
	}
	if _, err := store.CloseEverywhere(ctx, 2025, "admin"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 1, 0} { // the third was closed already
		if got := events(&labs[i]); got != want {
			t.Fatalf("lab %d: %d close events of 2025, want %d", i, got, want)
		}
	}
	if got := events(nil); got != 1 {
		t.Fatalf("want one event of no lab counting 2 labs closed, got %d", got)
	}
	if _, err := store.CloseEverywhere(ctx, 2025, "admin"); !errors.Is(err, yearbus.ErrUnchanged) {
		t.Fatalf("closing again: %v", err)
	}
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM calc.audit_events WHERE resource_id = '2025'`).Scan(&total); err != nil || total != 4 {
		t.Fatalf("events of 2025 after a refused close: %d, %v", total, err)
	}
}
