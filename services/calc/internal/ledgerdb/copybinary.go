package ledgerdb

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// copyBinary streams rows into table with COPY ... (FORMAT binary), encoding
// them itself: for wide bulk writes this is several times cheaper than
// handing pgx a []any per row. row writes one row and reports whether it
// did; false ends the COPY.
func copyBinary(ctx context.Context, tx pgx.Tx, table string, columns []string, row func(*binaryRow) (bool, error)) (int64, error) {
	reader, writer := io.Pipe()
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		buffered := bufio.NewWriterSize(writer, 1<<20)
		encoder := &binaryRow{w: buffered, columns: int16(len(columns))}
		_, _ = buffered.WriteString("PGCOPY\n\xff\r\n\x00")
		_, _ = buffered.Write(make([]byte, 8)) // flags and header extension length
		for {
			wrote, err := row(encoder)
			if err != nil {
				_ = writer.CloseWithError(err)
				return
			}
			if !wrote {
				break
			}
		}
		_, _ = buffered.Write([]byte{0xff, 0xff}) // the trailer
		if err := buffered.Flush(); err != nil {
			_ = writer.CloseWithError(err)
			return
		}
		_ = writer.Close()
	}()
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN WITH (FORMAT binary)", table, strings.Join(columns, ", "))
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, reader, sql)
	// Stop the producer (its next write fails) and wait for it: it reads
	// the caller's file and writes its spool, which the caller closes next.
	_ = reader.CloseWithError(io.ErrClosedPipe)
	<-produced
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// binaryRow writes one row of COPY's binary format: the field count, then
// each field as its length and bytes.
type binaryRow struct {
	w       *bufio.Writer
	columns int16
	scratch [8]byte
}

func (r *binaryRow) begin() { r.int16(r.columns) }

func (r *binaryRow) int16(v int16) {
	binary.BigEndian.PutUint16(r.scratch[:2], uint16(v))
	_, _ = r.w.Write(r.scratch[:2])
}

func (r *binaryRow) length(n int) {
	binary.BigEndian.PutUint32(r.scratch[:4], uint32(int32(n)))
	_, _ = r.w.Write(r.scratch[:4])
}

func (r *binaryRow) null() { r.length(-1) }

func (r *binaryRow) uuid(v uuid.UUID) {
	r.length(16)
	_, _ = r.w.Write(v[:])
}

func (r *binaryRow) int2(v int16) {
	r.length(2)
	r.int16(v)
}

func (r *binaryRow) int4(v int32) {
	r.length(4)
	binary.BigEndian.PutUint32(r.scratch[:4], uint32(v))
	_, _ = r.w.Write(r.scratch[:4])
}

func (r *binaryRow) int8(v int64) {
	r.length(8)
	binary.BigEndian.PutUint64(r.scratch[:8], uint64(v))
	_, _ = r.w.Write(r.scratch[:8])
}

func (r *binaryRow) float8(v float64) {
	r.length(8)
	binary.BigEndian.PutUint64(r.scratch[:8], math.Float64bits(v))
	_, _ = r.w.Write(r.scratch[:8])
}

func (r *binaryRow) text(v string) {
	r.length(len(v))
	_, _ = r.w.WriteString(v)
}

func (r *binaryRow) boolean(v bool) {
	r.length(1)
	var b byte
	if v {
		b = 1
	}
	_ = r.w.WriteByte(b)
}
