package ledgerdb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
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
