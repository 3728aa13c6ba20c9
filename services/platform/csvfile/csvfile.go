// Package csvfile reads the CSV files users upload as they come from
// spreadsheets: an optional UTF-8 byte-order mark, ',' or ';' as the
// delimiter, CRLF or LF line ends, quoted fields spanning lines, and ragged
// rows reported rather than fatal.
package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Header is a file's first line, understood.
type Header struct {
	Delimiter rune
	// Columns are the names as written, trimmed.
	Columns []string
}

// MaxHeaderBytes bounds the first line.
const MaxHeaderBytes = 64 * 1024

// MaxRecordBytes bounds one record (a row, quoted line breaks included): a
// quote never closed would otherwise make the rest of the file one field,
// held in memory.
const MaxRecordBytes = 8 << 20

// ParseHeader reads the header from the start of a file (first holds at
// least its first line, or the whole file if shorter). It rejects a header
// that is not UTF-8, empty, or names a column twice; the delimiter is the
// one of ',' and ';' the line uses most (',' when it uses neither).
func ParseHeader(first []byte) (Header, error) {
	first = bytes.TrimPrefix(first, bom)
	line, _, found := bytes.Cut(first, []byte("\n"))
	if !found && len(first) >= MaxHeaderBytes {
		return Header{}, fmt.Errorf("the first line is longer than %d bytes: is this a CSV file?", MaxHeaderBytes)
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !utf8.Valid(line) {
		return Header{}, errors.New("the header is not UTF-8 text: save the file as CSV UTF-8")
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return Header{}, errors.New("the file is empty or its first line is blank: the first line must name the columns")
	}
	delimiter := ','
	if bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")) {
		delimiter = ';'
	}
	reader := csv.NewReader(bytes.NewReader(line))
	reader.Comma = delimiter
	reader.LazyQuotes = true
	names, err := reader.Read()
	if err != nil {
		return Header{}, fmt.Errorf("the header cannot be read: %w", err)
	}
	seen := map[string]bool{}
	for i, name := range names {
		names[i] = strings.TrimSpace(name)
		key := strings.ToLower(names[i])
		if key == "" {
			return Header{}, fmt.Errorf("column %d of the header has no name", i+1)
		}
		if seen[key] {
			return Header{}, fmt.Errorf("the header names column %q twice", names[i])
		}
		seen[key] = true
	}
	return Header{Delimiter: delimiter, Columns: names}, nil
}

// Missing returns the required columns the header lacks (compared
// case-insensitively).
func (h Header) Missing(required []string) []string {
	present := map[string]bool{}
	for _, name := range h.Columns {
		present[strings.ToLower(name)] = true
	}
	var missing []string
	for _, name := range required {
		if !present[strings.ToLower(name)] {
			missing = append(missing, name)
		}
	}
	return missing
}

// Reader yields a file's data rows after its header.
type Reader struct {
	header Header
	csv    *csv.Reader
	index  map[string]int
	source *countingReader
	// lastLine is where the last row read started.
	lastLine int64
}

// countingReader counts the bytes read since the last record, and fails
// once they pass MaxRecordBytes.
type countingReader struct {
	r     io.Reader
	count int64
}

var errRecordTooLong = fmt.Errorf("a row is longer than %d MiB: a quote is probably never closed", MaxRecordBytes>>20)

func (c *countingReader) Read(p []byte) (int, error) {
	if c.count > MaxRecordBytes {
		return 0, errRecordTooLong
	}
	n, err := c.r.Read(p)
	c.count += int64(n)
	return n, err
}

// Record is one data row.
type Record struct {
	// Line is the line of the file the row starts on (the header is 1).
	Line int64
	// Fields are the row's values; fewer or more than the header's columns
	// make Err set.
	Fields []string
	// Err is why the row could not be read as a row (wrong number of
	// fields, broken quotes, not UTF-8); the reader goes on after it.
	Err error
}

// NewReader reads r: its header, then rows on demand.
func NewReader(r io.Reader) (*Reader, error) {
	source := &countingReader{r: r}
	buffered := bufio.NewReaderSize(source, 256*1024)
	peek, err := buffered.Peek(MaxHeaderBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	header, err := ParseHeader(peek)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(peek, bom) {
		_, _ = buffered.Discard(len(bom))
	}
	reader := csv.NewReader(buffered)
	reader.Comma = header.Delimiter
	// The same quote rules as ParseHeader: a header accepted at upload is
	// read the same way by the worker.
	reader.LazyQuotes = true
	reader.FieldsPerRecord = -1 // ragged rows are reported per row
	reader.ReuseRecord = false
	if _, err := reader.Read(); err != nil { // the header, already understood
		return nil, fmt.Errorf("the header cannot be read: %w", err)
	}
	index := make(map[string]int, len(header.Columns))
	for i, name := range header.Columns {
		index[strings.ToLower(name)] = i
	}
	source.count = 0
	return &Reader{header: header, csv: reader, index: index, source: source}, nil
}

// Header is the file's header.
func (r *Reader) Header() Header { return r.header }

// Column returns the position of a column (case-insensitive), or -1.
func (r *Reader) Column(name string) int {
	if i, ok := r.index[strings.ToLower(name)]; ok {
		return i
	}
	return -1
}

// Next returns the next row; io.EOF after the last. A row that cannot be
// read is returned with Err set, and reading goes on; only a failure of the
// underlying reader ends it.
func (r *Reader) Next() (Record, error) {
	for {
		fields, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		if errors.Is(err, errRecordTooLong) {
			return Record{}, fmt.Errorf("%w (after line %d)", errRecordTooLong, r.lastLine)
		}
		r.source.count = 0
		var parseErr *csv.ParseError
		if err != nil && !errors.As(err, &parseErr) {
			return Record{}, err
		}
		if err != nil {
			return Record{Line: int64(parseErr.StartLine), Err: fmt.Errorf("the row cannot be read: %w", parseErr.Err)}, nil
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // a blank line
		}
		line, _ := r.csv.FieldPos(0)
		r.lastLine = int64(line)
		record := Record{Line: int64(line), Fields: fields}
		switch {
		case len(fields) != len(r.header.Columns):
			record.Err = fmt.Errorf("the row has %d fields, the header %d columns", len(fields), len(r.header.Columns))
		case !validUTF8(fields):
			record.Err = errors.New("the row is not UTF-8 text")
		}
		return record, nil
	}
}

func validUTF8(fields []string) bool {
	for _, field := range fields {
		if !utf8.ValidString(field) {
			return false
		}
	}
	return true
}
