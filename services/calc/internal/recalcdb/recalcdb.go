// Package recalcdb keeps recalculations in the calc schema: their asks,
// the transaction that replaces a target's emissions (moving the old ones
// aside), their records and history.
package recalcdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
)

// Store implements recalcbus.Store, AskStore and HistoryStore on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

func (s *Store) RecalcRequest(ctx context.Context, target recalcbus.Target) (int64, int64, error) {
	return recalcRequest(ctx, s.queries, target)
}

func recalcRequest(ctx context.Context, queries *calcdb.Queries, target recalcbus.Target) (int64, int64, error) {
	row, err := queries.GetRecalcRequest(ctx, calcdb.GetRecalcRequestParams{LabID: target.LabID, Year: target.Year, Kind: target.Kind})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, recalcbus.ErrNotFound
	}
	return row.Requested, row.Done, err
}

func (s *Store) RecordRecalculation(ctx context.Context, recalculation recalcbus.Recalculation, answered int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return recordRecalculation(ctx, s.queries.WithTx(tx), recalculation, answered)
	})
}

func recordRecalculation(ctx context.Context, queries *calcdb.Queries, r recalcbus.Recalculation, answered int64) error {
	from := r.FromVersions
	if from == nil {
		from = []string{}
	}
	if err := queries.InsertRecalculation(ctx, calcdb.InsertRecalculationParams{
		ID: r.ID, LabID: r.LabID, Year: r.Year, Kind: r.Kind, FromVersions: from, ToDataset: r.To.Dataset, ToVersion: r.To.Version,
		Activities: r.Activities, KgBefore: r.KgBefore, KgAfter: r.KgAfter, State: r.State, Message: r.Message, StartedAt: r.StartedAt,
	}); err != nil {
		return err
	}
	return queries.MarkRecalcDone(ctx, calcdb.MarkRecalcDoneParams{LabID: r.LabID, Year: r.Year, Kind: r.Kind, Done: answered})
}

// InRecalcTx runs fn in one transaction.
func (s *Store) InRecalcTx(ctx context.Context, fn func(tx recalcbus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&recalcTx{ledgerdb.NewTx(tx, s.queries.WithTx(tx))})
	})
}

type recalcTx struct{ ledgerdb.Tx }

func (t *recalcTx) RecalcRequest(ctx context.Context, target recalcbus.Target) (int64, int64, error) {
	return recalcRequest(ctx, t.Queries, target)
}

func (t *recalcTx) RecalcForced(ctx context.Context, target recalcbus.Target) (bool, error) {
	row, err := t.Queries.GetRecalcRequest(ctx, calcdb.GetRecalcRequestParams{LabID: target.LabID, Year: target.Year, Kind: target.Kind})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return row.Forced, err
}

func (t *recalcTx) RecordRecalculation(ctx context.Context, recalculation recalcbus.Recalculation, answered int64) error {
	return recordRecalculation(ctx, t.Queries, recalculation, answered)
}

func (t *recalcTx) LockEntries(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.Queries.LockEntryTarget(ctx, calcdb.LockEntryTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

// StreamActivities reads the target's activities through a cursor, batch
// rows per fetch; fn may write in the transaction between fetches.
func (t *recalcTx) StreamActivities(ctx context.Context, target recalcbus.Target, batch int, fn func([]ledger.Activity) error) error {
	if _, err := t.Conn.Exec(ctx, `DECLARE recalc_activities NO SCROLL CURSOR FOR
		SELECT id, lab_id, year, module, kind, source, inputs FROM calc.activities
		WHERE lab_id = $1 AND year = $2 AND kind = $3`, target.LabID, target.Year, target.Kind); err != nil {
		return fmt.Errorf("open the activities of %v: %w", target, err)
	}
	fetch := fmt.Sprintf("FETCH %d FROM recalc_activities", max(batch, 1))
	activities := make([]ledger.Activity, 0, batch)
	for {
		activities = activities[:0]
		rows, err := t.Conn.Query(ctx, fetch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a ledger.Activity
			var inputs []byte
			if err := rows.Scan(&a.ID, &a.LabID, &a.Year, &a.Module, &a.Kind, &a.Source, &inputs); err != nil {
				rows.Close()
				return err
			}
			a.Inputs = inputs
			activities = append(activities, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(activities) == 0 {
			_, err := t.Conn.Exec(ctx, "CLOSE recalc_activities")
			return err
		}
		if err := fn(activities); err != nil {
			return err
		}
	}
}

func (t *recalcTx) SupersedeTarget(ctx context.Context, recalculationID uuid.UUID, target recalcbus.Target) (map[string]ledger.RollupSums, error) {
	rows, err := t.Queries.SupersedeTargetEmissions(ctx, calcdb.SupersedeTargetEmissionsParams{
		RecalculationID: recalculationID, LabID: target.LabID, Year: target.Year, Kind: target.Kind})
	if err != nil {
		return nil, err
	}
	removed := map[string]ledger.RollupSums{}
	for _, row := range rows {
		sums := removed[row.Module]
		if sums == nil {
			sums = ledger.RollupSums{}
			removed[row.Module] = sums
		}
		sums[ledger.RollupKey{EmissionType: row.EmissionType, Scope: row.Scope, Variant: row.Variant,
			FactorDataset: row.FactorDataset, FactorVersion: row.FactorVersion, QuantityUnit: row.QuantityUnit, FactorID: row.FactorID}] = &ledger.RollupSum{
			Quantity: row.Quantity, KgCO2e: row.KgCo2e, UncertaintySq: row.UncertaintySq, UncertaintyLinear: row.UncertaintyLinear, Entries: row.Entries,
			Overridden: row.Overridden, Fallback: row.Fallback,
		}
	}
	return removed, nil
}

func (s *Store) PendingRecalculations(ctx context.Context, batch int32) ([]recalcbus.Target, error) {
	rows, err := s.queries.ListPendingRecalcRequests(ctx, batch)
	targets := make([]recalcbus.Target, len(rows))
	for i, row := range rows {
		targets[i] = recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind}
	}
	return targets, err
}

func (s *Store) ListRecalculations(ctx context.Context, labID uuid.UUID, year int32) ([]recalcbus.Recalculation, error) {
	rows, err := s.queries.ListRecalculations(ctx, calcdb.ListRecalculationsParams{LabID: labID, Year: year})
	all := make([]recalcbus.Recalculation, len(rows))
	for i, row := range rows {
		all[i] = recalcbus.Recalculation{
			ID: row.ID, Target: recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind},
			FromVersions: row.FromVersions, To: factors.VersionRef{Dataset: row.ToDataset, Version: row.ToVersion},
			Activities: row.Activities, KgBefore: row.KgBefore, KgAfter: row.KgAfter, State: row.State, Message: row.Message,
			StartedAt: row.StartedAt, FinishedAt: row.FinishedAt,
		}
	}
	return all, err
}

func (s *Store) ActivityLab(ctx context.Context, activityID uuid.UUID) (uuid.UUID, error) {
	row, err := s.queries.GetActivity(ctx, activityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.UUID{}, recalcbus.ErrNotFound
	}
	return row.LabID, err
}

func (s *Store) ListSupersededEmissions(ctx context.Context, activityID uuid.UUID) ([]recalcbus.SupersededEmission, error) {
	rows, err := s.queries.ListSupersededEmissions(ctx, activityID)
	all := make([]recalcbus.SupersededEmission, len(rows))
	for i, e := range rows {
		var factorID uuid.UUID
		if e.FactorID != nil {
			factorID = *e.FactorID
		}
		all[i] = recalcbus.SupersededEmission{RecalculationID: e.RecalculationID, SupersededAt: e.SupersededAt, Emission: ledger.Emission{
			ActivityID: e.ActivityID, Variant: e.Variant, LabID: e.LabID, Year: e.Year, Module: e.Module,
			EmissionType: e.EmissionType, Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCO2e: e.KgCo2e, FactorID: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
		}}
	}
	return all, err
}

// WatchedRecalculations returns the lab's year's pending asks (requested
// beyond done) and at most 100 recalculations started at or after since,
// newest first.
func (s *Store) WatchedRecalculations(ctx context.Context, labID uuid.UUID, year int32, since time.Time) ([]recalcbus.Pending, []recalcbus.Recalculation, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, requested_at FROM calc.recalc_requests
		WHERE lab_id = $1 AND year = $2 AND done < requested ORDER BY kind`, labID, year)
	if err != nil {
		return nil, nil, err
	}
	pending, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (recalcbus.Pending, error) {
		p := recalcbus.Pending{Target: recalcbus.Target{LabID: labID, Year: year}}
		return p, row.Scan(&p.Kind, &p.RequestedAt)
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.pool.Query(ctx, `SELECT id, kind, from_versions, to_dataset, to_version, activities, kg_before, kg_after,
			state, message, started_at, finished_at
		FROM calc.recalculations WHERE lab_id = $1 AND year = $2 AND started_at >= $3
		ORDER BY started_at DESC LIMIT 100`, labID, year, since)
	if err != nil {
		return nil, nil, err
	}
	done, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (recalcbus.Recalculation, error) {
		r := recalcbus.Recalculation{Target: recalcbus.Target{LabID: labID, Year: year}}
		return r, row.Scan(&r.ID, &r.Kind, &r.FromVersions, &r.To.Dataset, &r.To.Version, &r.Activities, &r.KgBefore, &r.KgAfter,
			&r.State, &r.Message, &r.StartedAt, &r.FinishedAt)
	})
	return pending, done, err
}
