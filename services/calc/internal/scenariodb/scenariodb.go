// Package scenariodb keeps what-if scenarios in the calc schema: their
// definitions, the copy of a lab's year, the edits and the results, apart
// from actual activities and rollups.
package scenariodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/scenariobus"
)

// Store implements scenariobus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

var _ scenariobus.Store = (*Store)(nil)

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

// InScenarioTx runs fn in one transaction.
func (s *Store) InScenarioTx(ctx context.Context, fn func(tx scenariobus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&scenarioTx{ledgerdb.NewTx(tx, s.queries.WithTx(tx))})
	})
}

const scenarioColumns = `id, lab_id, year, name, description, rules, revision, computed_revision, computed_basis,
	factor_dataset, factor_version, computed_at, activities, computed_rows, rule_matches, created_by, created_at, updated_by, updated_at`

func scanScenario(row pgx.Row) (scenariobus.Scenario, error) {
	var s scenariobus.Scenario
	var rules, matches []byte
	err := row.Scan(&s.ID, &s.LabID, &s.Year, &s.Name, &s.Description, &rules, &s.Revision, &s.ComputedRevision, &s.ComputedBasis,
		&s.Factors.Dataset, &s.Factors.Version, &s.ComputedAt, &s.Activities, &s.ComputedRows, &matches, &s.CreatedBy, &s.CreatedAt,
		&s.UpdatedBy, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, scenariobus.ErrNotFound
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(rules, &s.Rules); err != nil {
		return s, fmt.Errorf("scenario %s rules: %w", s.ID, err)
	}
	if err := json.Unmarshal(matches, &s.RuleMatches); err != nil {
		return s, fmt.Errorf("scenario %s rule matches: %w", s.ID, err)
	}
	return s, nil
}

func (s *Store) ListScenarios(ctx context.Context, labID uuid.UUID, year int32) ([]scenariobus.Scenario, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scenarioColumns+` FROM calc.scenarios
		WHERE lab_id = $1 AND ($2 = 0 OR year = $2) ORDER BY year, name`, labID, year)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (scenariobus.Scenario, error) { return scanScenario(row) })
	if err != nil {
		return nil, err
	}
	// Their results as last computed (a lab keeps a few scenarios of a few
	// dozen rollups each).
	for i := range all {
		if all[i].Results, err = results(ctx, s.pool, all[i].ID); err != nil {
			return nil, err
		}
	}
	return all, nil
}

type scenarioTx struct{ ledgerdb.Tx }

var _ scenariobus.Tx = (*scenarioTx)(nil)

// isUniqueViolation reports a second scenario of one name in a lab.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func (t *scenarioTx) CreateScenario(ctx context.Context, sc scenariobus.Scenario, maxActivities int64, batch int, fn func([]scenariobus.Row) error) (scenariobus.Scenario, error) {
	rules, err := json.Marshal(orEmpty(sc.Rules))
	if err != nil {
		return sc, err
	}
	if _, err := t.Conn.Exec(ctx, `INSERT INTO calc.scenarios (id, lab_id, year, name, description, rules, created_by, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sc.ID, sc.LabID, sc.Year, sc.Name, sc.Description, rules, sc.CreatedBy, sc.UpdatedBy); err != nil {
		if isUniqueViolation(err) {
			return sc, scenariobus.ErrNameTaken
		}
		return sc, err
	}
	// The copy returns what it copies, so the rows are computed in the same
	// pass. One more than allowed is enough to refuse: a year larger still
	// is never read whole.
	rows, err := t.Conn.Query(ctx, `INSERT INTO calc.scenario_activities (scenario_id, activity_id, kind, inputs)
		SELECT $1, id, kind, inputs FROM calc.activities WHERE lab_id = $2 AND year = $3 LIMIT $4
		RETURNING activity_id, kind, inputs`, sc.ID, sc.LabID, sc.Year, maxActivities+1)
	if err != nil {
		return sc, fmt.Errorf("copy the activities of %d: %w", sc.Year, err)
	}
	defer rows.Close()
	var copied int64
	pending := make([]scenariobus.Row, 0, max(batch, 1))
	for rows.Next() {
		var r scenariobus.Row
		if err := rows.Scan(&r.ActivityID, &r.Kind, &r.Inputs); err != nil {
			return sc, err
		}
		if copied++; copied > maxActivities {
			return sc, scenariobus.ErrTooLarge
		}
		if pending = append(pending, r); len(pending) == cap(pending) {
			if err := fn(pending); err != nil {
				return sc, err
			}
			pending = pending[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return sc, fmt.Errorf("copy the activities of %d: %w", sc.Year, err)
	}
	if len(pending) > 0 {
		if err := fn(pending); err != nil {
			return sc, err
		}
	}
	if copied == 0 {
		return sc, scenariobus.ErrNoActivity
	}
	if _, err := t.Conn.Exec(ctx, `UPDATE calc.scenarios SET activities = $2 WHERE id = $1`, sc.ID, copied); err != nil {
		return sc, err
	}
	return t.LockScenario(ctx, sc.LabID, sc.ID)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (t *scenarioTx) CountScenarios(ctx context.Context, labID uuid.UUID) (int64, error) {
	var n int64
	err := t.Conn.QueryRow(ctx, `SELECT count(*) FROM calc.scenarios WHERE lab_id = $1`, labID).Scan(&n)
	return n, err
}

func (t *scenarioTx) LockScenario(ctx context.Context, labID, id uuid.UUID) (scenariobus.Scenario, error) {
	return scanScenario(t.Conn.QueryRow(ctx, `SELECT `+scenarioColumns+` FROM calc.scenarios
		WHERE id = $1 AND lab_id = $2 FOR UPDATE`, id, labID))
}

func (t *scenarioTx) UpdateScenario(ctx context.Context, sc scenariobus.Scenario) (scenariobus.Scenario, error) {
	rules, err := json.Marshal(orEmpty(sc.Rules))
	if err != nil {
		return sc, err
	}
	updated, err := scanScenario(t.Conn.QueryRow(ctx, `UPDATE calc.scenarios
		SET name = $2, description = $3, rules = $4, revision = revision + 1, updated_by = $5, updated_at = now()
		WHERE id = $1 RETURNING `+scenarioColumns, sc.ID, sc.Name, sc.Description, rules, sc.UpdatedBy))
	if isUniqueViolation(err) {
		return sc, scenariobus.ErrNameTaken
	}
	return updated, err
}

func (t *scenarioTx) Touch(ctx context.Context, id uuid.UUID, by string) (scenariobus.Scenario, error) {
	return scanScenario(t.Conn.QueryRow(ctx, `UPDATE calc.scenarios
		SET revision = revision + 1, updated_by = $2, updated_at = now()
		WHERE id = $1 RETURNING `+scenarioColumns, id, by))
}

func (t *scenarioTx) DeleteScenario(ctx context.Context, id uuid.UUID) error {
	_, err := t.Conn.Exec(ctx, `DELETE FROM calc.scenarios WHERE id = $1`, id)
	return err
}

func (t *scenarioTx) Edits(ctx context.Context, id uuid.UUID) ([]scenariobus.Edit, error) {
	rows, err := t.Conn.Query(ctx, `SELECT row_id, added, removed, kind, inputs, edited_by, edited_at
		FROM calc.scenario_edits WHERE scenario_id = $1 ORDER BY edited_at, row_id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (scenariobus.Edit, error) {
		var e scenariobus.Edit
		return e, row.Scan(&e.RowID, &e.Added, &e.Removed, &e.Kind, &e.Inputs, &e.EditedBy, &e.EditedAt)
	})
}

func (t *scenarioTx) PutEdit(ctx context.Context, id uuid.UUID, e scenariobus.Edit) error {
	_, err := t.Conn.Exec(ctx, `INSERT INTO calc.scenario_edits (scenario_id, row_id, added, removed, kind, inputs, edited_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (scenario_id, row_id) DO UPDATE
		SET removed = excluded.removed, kind = excluded.kind, inputs = excluded.inputs, edited_by = excluded.edited_by, edited_at = now()`,
		id, e.RowID, e.Added, e.Removed, e.Kind, string(e.Inputs), e.EditedBy)
	return err
}

func (t *scenarioTx) DeleteEdit(ctx context.Context, id, rowID uuid.UUID) (bool, error) {
	tag, err := t.Conn.Exec(ctx, `DELETE FROM calc.scenario_edits WHERE scenario_id = $1 AND row_id = $2`, id, rowID)
	return tag.RowsAffected() > 0, err
}

func (t *scenarioTx) CopiedRow(ctx context.Context, id, rowID uuid.UUID) (scenariobus.Row, error) {
	r := scenariobus.Row{ActivityID: rowID}
	err := t.Conn.QueryRow(ctx, `SELECT kind, inputs FROM calc.scenario_activities WHERE scenario_id = $1 AND activity_id = $2`,
		id, rowID).Scan(&r.Kind, &r.Inputs)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, scenariobus.ErrNotFound
	}
	return r, err
}

// StreamRows reads the copy through a cursor, batch rows per fetch.
func (t *scenarioTx) StreamRows(ctx context.Context, id uuid.UUID, batch int, fn func([]scenariobus.Row) error) error {
	if _, err := t.Conn.Exec(ctx, `DECLARE scenario_rows NO SCROLL CURSOR FOR
		SELECT activity_id, kind, inputs FROM calc.scenario_activities WHERE scenario_id = $1`, id); err != nil {
		return fmt.Errorf("open the rows of scenario %s: %w", id, err)
	}
	fetch := fmt.Sprintf("FETCH %d FROM scenario_rows", max(batch, 1))
	rows := make([]scenariobus.Row, 0, batch)
	for {
		rows = rows[:0]
		result, err := t.Conn.Query(ctx, fetch)
		if err != nil {
			return err
		}
		for result.Next() {
			var r scenariobus.Row
			if err := result.Scan(&r.ActivityID, &r.Kind, &r.Inputs); err != nil {
				result.Close()
				return err
			}
			rows = append(rows, r)
		}
		result.Close()
		if err := result.Err(); err != nil {
			return err
		}
		if len(rows) == 0 {
			_, err := t.Conn.Exec(ctx, "CLOSE scenario_rows")
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
}

func (t *scenarioTx) SaveResults(ctx context.Context, sc scenariobus.Scenario, results []scenariobus.Result) error {
	matches, err := json.Marshal(orEmpty(sc.RuleMatches))
	if err != nil {
		return err
	}
	computedAt := time.Now()
	if sc.ComputedAt != nil {
		computedAt = *sc.ComputedAt
	}
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM calc.scenario_rollups WHERE scenario_id = $1`, sc.ID)
	for _, r := range results {
		batch.Queue(`INSERT INTO calc.scenario_rollups (scenario_id, module, emission_type, scope, variant, factor_dataset, factor_version,
			quantity_unit, factor_id, quantity, kg_co2e, uncertainty_sq, uncertainty_linear, entries, overridden, fallback)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			sc.ID, r.Module, r.Key.EmissionType, r.Key.Scope, r.Key.Variant, r.Key.FactorDataset, r.Key.FactorVersion, r.Key.QuantityUnit,
			r.Key.FactorID, r.Sum.Quantity, r.Sum.KgCO2e, r.Sum.UncertaintySq, r.Sum.UncertaintyLinear, r.Sum.Entries, r.Sum.Overridden, r.Sum.Fallback)
	}
	batch.Queue(`UPDATE calc.scenarios SET computed_revision = $2, computed_basis = $3, factor_dataset = $4, factor_version = $5,
		computed_at = $6, computed_rows = $7, rule_matches = $8 WHERE id = $1`,
		sc.ID, sc.ComputedRevision, sc.ComputedBasis, sc.Factors.Dataset, sc.Factors.Version, computedAt, sc.ComputedRows, matches)
	return t.Conn.SendBatch(ctx, batch).Close()
}

func (t *scenarioTx) Results(ctx context.Context, id uuid.UUID) ([]scenariobus.Result, error) {
	return results(ctx, t.Conn, id)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func results(ctx context.Context, db querier, id uuid.UUID) ([]scenariobus.Result, error) {
	rows, err := db.Query(ctx, `SELECT module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id,
		quantity, kg_co2e, uncertainty_sq, uncertainty_linear, entries, overridden, fallback
		FROM calc.scenario_rollups WHERE scenario_id = $1
		ORDER BY module, emission_type, scope, variant, factor_dataset, factor_version, quantity_unit, factor_id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (scenariobus.Result, error) {
		var r scenariobus.Result
		return r, row.Scan(&r.Module, &r.Key.EmissionType, &r.Key.Scope, &r.Key.Variant, &r.Key.FactorDataset, &r.Key.FactorVersion,
			&r.Key.QuantityUnit, &r.Key.FactorID, &r.Sum.Quantity, &r.Sum.KgCO2e, &r.Sum.UncertaintySq, &r.Sum.UncertaintyLinear,
			&r.Sum.Entries, &r.Sum.Overridden, &r.Sum.Fallback)
	})
}
