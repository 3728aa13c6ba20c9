// Package ledgerdb writes what calc records of activities (their rows,
// emissions and the lab's rollups) inside a transaction: the part every
// writer (imports, recalculations, single entries) shares, with COPY for
// bulk writes and batches for small ones.
package ledgerdb

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factordb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
)

// Tx is a writing transaction of the calc schema: it reads the factors in
// force and writes activities, emissions and rollups on its own connection.
type Tx struct {
	factordb.Reader
	Conn    pgx.Tx
	Queries *calcdb.Queries
}

// NewTx returns the writing transaction over tx; queries run in it.
func NewTx(tx pgx.Tx, queries *calcdb.Queries) Tx {
	return Tx{Reader: factordb.NewReader(queries), Conn: tx, Queries: queries}
}

// Schema is where calc keeps its tables, its audit trail included.
const Schema = "calc"

// Record appends event to calc's audit trail through db, a transaction of
// the change.
func Record(ctx context.Context, db auditpg.Execer, event audit.Event) error {
	return auditpg.Record(ctx, db, Schema, event)
}

// Record appends event to calc's audit trail in this transaction.
func (t Tx) Record(ctx context.Context, event audit.Event) error {
	return Record(ctx, t.Conn, event)
}

var activityColumns = []string{"id", "lab_id", "year", "module", "kind", "source", "import_id", "row_no", "inputs"}

func (t *Tx) CopyActivities(ctx context.Context, next func() (*ledger.Activity, error)) (int64, error) {
	return copyBinary(ctx, t.Conn, "calc.activities", activityColumns, func(r *binaryRow) (bool, error) {
		row, err := next()
		if err != nil || row == nil {
			return false, err
		}
		r.begin()
		r.uuid(row.ID)
		r.uuid(row.LabID)
		r.int4(row.Year)
		r.text(row.Module)
		r.text(row.Kind)
		r.text(row.Source)
		if row.ImportID != nil {
			r.uuid(*row.ImportID)
		} else {
			r.null()
		}
		if row.RowNo != nil {
			r.int8(*row.RowNo)
		} else {
			r.null()
		}
		r.text(string(row.Inputs))
		return true, nil
	})
}

var emissionColumns = []string{"activity_id", "variant", "lab_id", "year", "module", "emission_type", "scope", "quantity",
	"quantity_unit", "kg_co2e", "factor_id", "factor_dataset", "factor_version", "uncertainty_pct", "overridden", "fallback"}

func (t *Tx) CopyEmissions(ctx context.Context, next func() (*ledger.Emission, error)) (int64, error) {
	return copyBinary(ctx, t.Conn, "calc.emissions", emissionColumns, func(r *binaryRow) (bool, error) {
		row, err := next()
		if err != nil || row == nil {
			return false, err
		}
		r.begin()
		r.uuid(row.ActivityID)
		r.text(row.Variant)
		r.uuid(row.LabID)
		r.int4(row.Year)
		r.text(row.Module)
		r.text(row.EmissionType)
		r.int2(row.Scope)
		r.float8(row.Quantity)
		r.text(row.QuantityUnit)
		r.float8(row.KgCO2e)
		if row.FactorID != (uuid.UUID{}) {
			r.uuid(row.FactorID)
		} else {
			r.null()
		}
		r.text(row.FactorDataset)
		r.text(row.FactorVersion)
		r.float8(row.UncertaintyPct)
		r.boolean(row.Overridden)
		r.boolean(row.Fallback)
		return true, nil
	})
}

func (t *Tx) LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.Queries.LockTarget(ctx, calcdb.LockTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

// ShareYear holds the lab's year against a close until the transaction
// ends, then says whether the year is open. The state is read by a second
// statement, whose snapshot is taken once the locks are held: a close that
// committed while this waited is seen.
func (t *Tx) ShareYear(ctx context.Context, labID uuid.UUID, year int32) (open bool, err error) {
	return ShareYear(ctx, t.Queries, labID, year)
}

// ShareYear is Tx.ShareYear for stores that hold a transaction's queries
// only.
func ShareYear(ctx context.Context, queries *calcdb.Queries, labID uuid.UUID, year int32) (bool, error) {
	if err := queries.ShareYear(ctx, calcdb.ShareYearParams{Year: fmt.Sprint(year), LabID: labID.String()}); err != nil {
		return false, fmt.Errorf("hold year %d of lab %s: %w", year, labID, err)
	}
	state, err := queries.YearState(ctx, calcdb.YearStateParams{LabID: labID, Year: year})
	if err != nil {
		return false, fmt.Errorf("state of year %d of lab %s: %w", year, labID, err)
	}
	return state == ledger.YearStateOpen, nil
}

type rollupRow struct {
	year   int32
	module string
	key    ledger.RollupKey
}

func (t *Tx) ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...ledger.RollupDelta) error {
	queries, batch := NewBatch()
	QueueRollups(ctx, queries, labID, deltas)
	return Send(ctx, t.Conn, batch)
}

// queueRollups queues the statements that add deltas to the lab's rollups
// and activity counts, rows taken in a fixed order so concurrent writers
// cannot deadlock, and remove the rows a subtraction emptied.
func QueueRollups(ctx context.Context, queries *calcdb.Queries, labID uuid.UUID, deltas []ledger.RollupDelta) {
	merged := map[rollupRow]*ledger.RollupSum{}
	for _, delta := range deltas {
		for key, sum := range delta.Sums {
			row := rollupRow{year: delta.Year, module: delta.Module, key: key}
			total := merged[row]
			if total == nil {
				total = &ledger.RollupSum{}
				merged[row] = total
			}
			total.Merge(sum, delta.Sign)
		}
	}
	rows := make([]rollupRow, 0, len(merged))
	years := map[int32]bool{}
	for row := range merged {
		rows = append(rows, row)
		years[row.year] = true
	}
	// Every writer updates rollup rows in this order: none waits for
	// another in a cycle.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.year != b.year {
			return a.year < b.year
		}
		if a.module != b.module {
			return a.module < b.module
		}
		return a.key.Less(b.key)
	})
	for _, row := range rows {
		sum := merged[row]
		_ = queries.AddToRollup(ctx, calcdb.AddToRollupParams{
			LabID: labID, Year: row.year, Module: row.module, EmissionType: row.key.EmissionType, Scope: row.key.Scope,
			Variant: row.key.Variant, FactorDataset: row.key.FactorDataset, FactorVersion: row.key.FactorVersion,
			QuantityUnit: row.key.QuantityUnit, FactorID: row.key.FactorID, Quantity: sum.Quantity, KgCo2e: sum.KgCO2e,
			UncertaintySq: sum.UncertaintySq, UncertaintyLinear: sum.UncertaintyLinear,
			Entries: sum.Entries, Overridden: sum.Overridden, Fallback: sum.Fallback,
		})
	}
	queueActivityCounts(ctx, queries, labID, deltas)
	for year := range years {
		if subtracts(deltas, year) {
			_ = queries.DeleteEmptyRollups(ctx, calcdb.DeleteEmptyRollupsParams{LabID: labID, Year: year})
			_ = queries.DeleteEmptyActivityCounts(ctx, calcdb.DeleteEmptyActivityCountsParams{LabID: labID, Year: year})
		}
	}
}

// subtracts reports whether a delta takes something away from year: only
// then can a row of it become empty.
func subtracts(deltas []ledger.RollupDelta, year int32) bool {
	for _, delta := range deltas {
		if delta.Year == year && delta.Sign < 0 {
			return true
		}
	}
	return false
}

type countRow struct {
	year                 int32
	module, kind, source string
}

// queueActivityCounts adds the deltas' activity counts, in one order.
func queueActivityCounts(ctx context.Context, queries *calcdb.Queries, labID uuid.UUID, deltas []ledger.RollupDelta) {
	merged := map[countRow]int64{}
	for _, delta := range deltas {
		if delta.Kind != "" && delta.Activities != 0 {
			merged[countRow{delta.Year, delta.Module, delta.Kind, delta.Source}] += int64(delta.Sign) * delta.Activities
		}
	}
	rows := make([]countRow, 0, len(merged))
	for row, n := range merged {
		if n != 0 {
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.year != b.year {
			return a.year < b.year
		}
		return a.module+"\x00"+a.kind+"\x00"+a.source < b.module+"\x00"+b.kind+"\x00"+b.source
	})
	for _, row := range rows {
		_ = queries.AddToActivityCount(ctx, calcdb.AddToActivityCountParams{
			LabID: labID, Year: row.year, Module: row.module, Kind: row.kind, Source: row.source, Activities: merged[row],
		})
	}
}
