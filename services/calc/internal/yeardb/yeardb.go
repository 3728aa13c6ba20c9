// Package yeardb keeps labs' reporting years in the calc schema.
package yeardb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yearbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Store implements yearbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

func (s *Store) ListYears(ctx context.Context, labID uuid.UUID) ([]yearbus.Year, error) {
	rows, err := s.queries.ListLabYearStates(ctx, labID)
	years := make([]yearbus.Year, len(rows))
	for i, row := range rows {
		changedAt := row.OwnChangedAt
		if changedAt == nil {
			changedAt = row.EverywhereChangedAt
		}
		years[i] = yearbus.Year{LabID: labID, Year: row.Year, State: row.State, ChangedBy: row.ChangedBy, ChangedAt: changedAt}
	}
	return years, err
}

func (s *Store) GetYear(ctx context.Context, labID uuid.UUID, year int32) (yearbus.Year, error) {
	years, err := s.ListYears(ctx, labID)
	if err != nil {
		return yearbus.Year{}, err
	}
	for _, y := range years {
		if y.Year == year {
			return y, nil
		}
	}
	return yearbus.Year{LabID: labID, Year: year, State: ledger.YearStateOpen}, nil
}

// SetYear takes the lab's year alone: the writers in progress hold it
// shared until they commit, so this waits for them, and those that come
// next read the new state.
func (s *Store) SetYear(ctx context.Context, labID uuid.UUID, year int32, state, by string) (yearbus.Year, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := queries.LockLabYear(ctx, calcdb.LockLabYearParams{LabID: labID.String(), Year: itoa(year)}); err != nil {
			return err
		}
		current, err := queries.YearState(ctx, calcdb.YearStateParams{LabID: labID, Year: year})
		if err != nil {
			return err
		}
		if current == state {
			return yearbus.ErrUnchanged
		}
		if err := queries.SetYearState(ctx, calcdb.SetYearStateParams{LabID: labID, Year: year, State: state, ChangedBy: by}); err != nil {
			return err
		}
		return ledgerdb.Record(ctx, tx, yearbus.YearEvent(labID, year, current, state))
	})
	if err != nil {
		return yearbus.Year{}, err
	}
	return s.GetYear(ctx, labID, year)
}

// CloseEverywhere takes the year alone for every lab (every writer holds
// it shared), then records the institution's close and closes again the
// labs that had reopened the year.
func (s *Store) CloseEverywhere(ctx context.Context, year int32, by string) (int64, error) {
	var closedAgain int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := queries.LockYearEverywhere(ctx, itoa(year)); err != nil {
			return err
		}
		current, err := queries.YearState(ctx, calcdb.YearStateParams{LabID: yearbus.Everywhere, Year: year})
		if err != nil {
			return err
		}
		actor := audit.ActorOf(ctx, ledgerdb.Schema)
		labsClosed, err := queries.RecordYearClosedForLabs(ctx, calcdb.RecordYearClosedForLabsParams{
			ActorSubject: actor.Subject, ActorEmail: actor.Email, ResourceType: yearbus.ResourceYear, Year: year,
			Action: audit.ActionClose, TraceID: audit.TraceID(ctx),
		})
		if err != nil {
			return fmt.Errorf("record the close of %d for each lab: %w", year, err)
		}
		if closedAgain, err = queries.CloseLabRowsOfYear(ctx, calcdb.CloseLabRowsOfYearParams{Year: year, ChangedBy: by}); err != nil {
			return err
		}
		if current == ledger.YearStateClosed && closedAgain == 0 {
			return yearbus.ErrUnchanged
		}
		if err := queries.SetYearState(ctx, calcdb.SetYearStateParams{LabID: yearbus.Everywhere, Year: year, State: ledger.YearStateClosed, ChangedBy: by}); err != nil {
			return err
		}
		return ledgerdb.Record(ctx, tx, yearbus.EverywhereEvent(year, current, labsClosed))
	})
	return closedAgain, err
}

func itoa(year int32) string { return strconv.FormatInt(int64(year), 10) }
