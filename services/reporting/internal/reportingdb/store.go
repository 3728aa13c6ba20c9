// Package reportingdb stores exports and their ZIPs in the reporting
// schema (sqlc queries from queries/*.sql).
package reportingdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
)

// chunkSize is the size of the pieces a ZIP is stored in.
const chunkSize = 1 << 20

// Store implements exportbus.ExportStore on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *Queries
}

var _ exportbus.ExportStore = (*Store)(nil)

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, queries: New(pool)} }

func toExport(row ReportingExport) exportbus.Export {
	return exportbus.Export{
		ID: row.ID, LabID: row.LabID, Year: row.Year, IncludeSublabs: row.IncludeSublabs, LabIDs: row.LabIds,
		Status: row.Status, Error: row.Error, Rows: row.RowsWritten, SizeBytes: row.SizeBytes, Attempts: row.Attempts,
		MaxAttempts: row.MaxAttempts, LockedBy: row.LockedBy, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, FinishedAt: row.FinishedAt,
	}
}

// Schema is where reporting keeps its tables, its audit trail included.
const Schema = "reporting"

// CreateExport implements exportbus.ExportStore.
func (s *Store) CreateExport(ctx context.Context, e exportbus.Export) (exportbus.Export, error) {
	var created exportbus.Export
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.queries.WithTx(tx).CreateExport(ctx, CreateExportParams{
			ID: e.ID, LabID: e.LabID, Year: e.Year, IncludeSublabs: e.IncludeSublabs, LabIds: e.LabIDs,
			MaxAttempts: e.MaxAttempts, CreatedBy: e.CreatedBy,
		})
		if err != nil {
			return err
		}
		created = toExport(row)
		return auditpg.Record(ctx, tx, Schema, exportbus.CreatedEvent(created))
	})
	return created, err
}

// GetExport implements exportbus.ExportStore.
func (s *Store) GetExport(ctx context.Context, labID, id uuid.UUID) (exportbus.Export, error) {
	row, err := s.queries.GetExport(ctx, GetExportParams{ID: id, LabID: labID})
	if errors.Is(err, pgx.ErrNoRows) {
		return exportbus.Export{}, exportbus.ErrExportNotFound
	}
	return toExport(row), err
}

// ClaimExport implements exportbus.ExportStore.
func (s *Store) ClaimExport(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) (exportbus.Export, bool, error) {
	row, err := s.queries.ClaimExport(ctx, ClaimExportParams{ID: id, Worker: worker, LeaseSeconds: lease.Seconds()})
	if errors.Is(err, pgx.ErrNoRows) {
		return exportbus.Export{}, false, nil
	}
	if err != nil {
		return exportbus.Export{}, false, err
	}
	return toExport(row), true, nil
}

// RenewExportLease implements exportbus.ExportStore.
func (s *Store) RenewExportLease(ctx context.Context, id uuid.UUID, worker string, lease time.Duration) error {
	return held(s.queries.RenewExportLease(ctx, RenewExportLeaseParams{ID: id, Worker: worker, LeaseSeconds: lease.Seconds()}))
}

// WriteExport implements exportbus.ExportStore: the ZIP goes into
// chunks as it is written, and appears with the done state at commit.
func (s *Store) WriteExport(ctx context.Context, id uuid.UUID, worker string, write func(w io.Writer) (int64, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := queries.DeleteExportChunks(ctx, id); err != nil {
			return err
		}
		chunks := &chunkWriter{ctx: ctx, queries: queries, id: id, buf: make([]byte, 0, chunkSize)}
		rows, err := write(chunks)
		if err != nil {
			return err
		}
		if err := chunks.flush(); err != nil {
			return err
		}
		return held(queries.FinishExport(ctx, FinishExportParams{ID: id, Worker: worker, RowsWritten: rows, SizeBytes: chunks.size}))
	})
}

// ReleaseExport implements exportbus.ExportStore.
func (s *Store) ReleaseExport(ctx context.Context, id uuid.UUID, worker, message string) error {
	return held(s.queries.ReleaseExport(ctx, ReleaseExportParams{ID: id, Worker: worker, Message: message}))
}

// FailExport implements exportbus.ExportStore.
func (s *Store) FailExport(ctx context.Context, id uuid.UUID, worker, message string) error {
	return held(s.queries.FailExport(ctx, FailExportParams{ID: id, Worker: worker, Message: message}))
}

// held turns "no row changed" of a statement that requires the worker's
// lease into ErrLeaseLost.
func held(changed int64, err error) error {
	if err == nil && changed == 0 {
		return exportbus.ErrLeaseLost
	}
	return err
}

// ReadExport implements exportbus.ExportStore, a chunk at a time, each
// read on its own: a download holds no connection or transaction while
// the client takes its time. A ZIP deleted by the retention while it is
// read ends the download in ErrExportExpired, never in a shorter file.
func (s *Store) ReadExport(ctx context.Context, id uuid.UUID, send func([]byte) error) error {
	export, err := s.queries.GetExportStatus(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return exportbus.ErrExportNotFound
	case err != nil:
		return fmt.Errorf("read export %s: %w", id, err)
	case export.Status == exportbus.ExportExpired:
		return exportbus.ErrExportExpired
	}
	var sent int64
	for seq := int32(0); ; seq++ {
		data, err := s.queries.GetExportChunk(ctx, GetExportChunkParams{ExportID: id, Seq: seq})
		if errors.Is(err, pgx.ErrNoRows) {
			if sent < export.SizeBytes {
				return fmt.Errorf("export %s deleted while it was read (%d of %d bytes sent): %w", id, sent, export.SizeBytes, exportbus.ErrExportExpired)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read export %s chunk %d: %w", id, seq, err)
		}
		if err := send(data); err != nil {
			return err
		}
		sent += int64(len(data))
	}
}

// ExpireExports implements exportbus.ExportStore: the exports are
// marked and their ZIPs deleted in one transaction.
func (s *Store) ExpireExports(ctx context.Context, olderThan time.Duration, batch int32) ([]uuid.UUID, error) {
	var expired []uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		var err error
		expired, err = queries.ExpireExports(ctx, ExpireExportsParams{RetentionSeconds: olderThan.Seconds(), Batch: batch})
		if err != nil || len(expired) == 0 {
			return err
		}
		return queries.DeleteExportChunksOf(ctx, expired)
	})
	return expired, err
}

// chunkWriter stores what is written in chunks of chunkSize.
type chunkWriter struct {
	ctx     context.Context
	queries *Queries
	id      uuid.UUID
	seq     int32
	size    int64
	buf     []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		n := min(chunkSize-len(c.buf), len(p))
		c.buf = append(c.buf, p[:n]...)
		p = p[n:]
		if len(c.buf) == chunkSize {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if err := c.queries.InsertExportChunk(c.ctx, InsertExportChunkParams{ExportID: c.id, Seq: c.seq, Data: c.buf}); err != nil {
		return fmt.Errorf("store export %s chunk %d: %w", c.id, c.seq, err)
	}
	c.size += int64(len(c.buf))
	c.seq++
	c.buf = c.buf[:0]
	return nil
}
