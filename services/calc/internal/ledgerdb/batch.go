package ledgerdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// queued is a DBTX whose Exec queues the statement into a batch: the
// generated queries fill it, and the batch goes to the server in one round
// trip (send). Only statements without results can be queued.
type queued struct{ batch *pgx.Batch }

var errQueued = errors.New("ledgerdb: a batch takes statements without results only")

func (q queued) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (q queued) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errQueued }

func (q queued) QueryRow(context.Context, string, ...any) pgx.Row { return failedRow{} }

type failedRow struct{}

func (failedRow) Scan(...any) error { return errQueued }

// NewBatch returns queries that queue into a fresh batch.
func NewBatch() (*calcdb.Queries, *pgx.Batch) {
	batch := &pgx.Batch{}
	return calcdb.New(queued{batch}), batch
}

// Send runs a batch in tx, in one round trip, and returns its first error.
func Send(ctx context.Context, tx pgx.Tx, batch *pgx.Batch) error {
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}

// QueueRecord queues event's audit row into batch: it is written with the
// change it records, in the same round trip.
func QueueRecord(ctx context.Context, batch *pgx.Batch, event audit.Event) error {
	return Record(ctx, queued{batch}, event)
}

// Held is what HoldYear read once the locks were held: whether the year is
// open, and what computes it — the dataset version activated for the year
// (nil: none) and the lab's declared electricity contract (nil: none).
type Held struct {
	Open     bool
	Active   *factors.VersionRef
	Contract *kinds.Contract
}

// HoldYear takes the lab's year's locks as every writer does (ShareYear),
// then the locks also queues (a target's, taken after the year's), and
// reads the year's state, its activation and the lab's contract — in one
// round trip.
func HoldYear(ctx context.Context, tx pgx.Tx, labID uuid.UUID, year int32, also func(queries *calcdb.Queries)) (Held, error) {
	queries, batch := NewBatch()
	_ = queries.ShareYear(ctx, calcdb.ShareYearParams{Year: fmt.Sprint(year), LabID: labID.String()})
	also(queries)
	locks := batch.Len()
	// lifecycle.sql's YearState, factors.sql's ActiveVersionOf and
	// contracts.sql's GetContract, read once the locks are held.
	batch.Queue(`SELECT calc.year_state($1::uuid, $2::integer)::text, a.dataset, a.version,
	                    c.supplier, c.kg_co2e_per_kwh, c.uncertainty_pct, c.source
	             FROM (SELECT 1) AS one
	             LEFT JOIN LATERAL (SELECT dataset, version FROM calc.factor_activations
	                                WHERE year = $2 ORDER BY id DESC LIMIT 1) AS a ON true
	             LEFT JOIN calc.electricity_contracts AS c ON c.lab_id = $1 AND c.year = $2`, labID, year)
	results := tx.SendBatch(ctx, batch)
	defer results.Close()
	for range locks {
		if _, err := results.Exec(); err != nil {
			return Held{}, fmt.Errorf("hold year %d of lab %s: %w", year, labID, err)
		}
	}
	var state string
	var dataset, version, supplier, source *string
	var kgPerKWh, uncertainty *float64
	if err := results.QueryRow().Scan(&state, &dataset, &version, &supplier, &kgPerKWh, &uncertainty, &source); err != nil {
		return Held{}, fmt.Errorf("state of year %d of lab %s: %w", year, labID, err)
	}
	held := Held{Open: state == ledger.YearStateOpen}
	if dataset != nil && version != nil {
		held.Active = &factors.VersionRef{Dataset: *dataset, Version: *version}
	}
	if supplier != nil && kgPerKWh != nil && uncertainty != nil && source != nil {
		held.Contract = &kinds.Contract{Supplier: *supplier, KgPerKWh: *kgPerKWh, UncertaintyPct: *uncertainty, Source: *source}
	}
	return held, results.Close()
}
