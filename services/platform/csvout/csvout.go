// Package csvout writes the CSV files the system hands out (reports,
// exports, templates) so that a spreadsheet opening them runs no formula,
// whatever separator it splits the lines at.
//
// The OWASP "CSV injection" advice is to put a single quote in front of a
// cell that begins with =, +, -, @, a tab or a carriage return. That is not
// enough for a file written with commas: a spreadsheet set to split at
// semicolons (the default where the comma is the decimal mark), tabs or
// pipes splits the cell `PC;=1+1;` into three, and the second is a formula.
// So every piece of a cell that a spreadsheet could split off (after a
// comma, semicolon, tab, pipe or line break) is looked at, and a single
// quote goes in front of each piece that would begin a formula, leading
// spaces and double quotes disregarded.
//
// Numbers are data to every spreadsheet, so the system's own figures stay
// readable: a cell that is a plain decimal number (-12.5) is left as it is.
// Only a whole cell: a number followed by more text within its cell, or
// first in a record followed by more cells, would begin a longer cell for a
// spreadsheet splitting elsewhere (`-12.5,cmd|...` read at semicolons is a
// formula), so it is quoted like any other piece.
package csvout

import (
	"encoding/csv"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// separators are where a spreadsheet may split a cell: the separators
// import dialogs offer, and line breaks (a reader that ignores quotes
// starts a new row there).
const separators = ",;\t|\r\n"

// plainNumber is a decimal number without anything a formula could hide in.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// Neutralise returns cell with a single quote in front of every piece a
// spreadsheet could read as a formula.
func Neutralise(cell string) string { return neutralise(cell, true) }

// neutralise is Neutralise; a cell that is a plain number is left as it is
// only when wholeNumbers.
func neutralise(cell string, wholeNumbers bool) string {
	if wholeNumbers && plainNumber.MatchString(cell) {
		return cell
	}
	var quotes []int // where a quote goes
	// A tab or carriage return first hides what follows from a reader that
	// trims it.
	if cell != "" && (cell[0] == '\t' || cell[0] == '\r') {
		quotes = append(quotes, 0)
	}
	for start := 0; ; {
		end := strings.IndexAny(cell[start:], separators)
		piece := cell[start:]
		if end >= 0 {
			piece = cell[start : start+end]
		}
		if beginsFormula(piece) {
			quotes = append(quotes, start)
		}
		if end < 0 {
			break
		}
		start += end + 1
	}
	if len(quotes) == 0 {
		return cell
	}
	var b strings.Builder
	b.Grow(len(cell) + len(quotes))
	last := 0
	for _, at := range quotes {
		b.WriteString(cell[last:at])
		b.WriteByte('\'')
		last = at
	}
	b.WriteString(cell[last:])
	return b.String()
}

// beginsFormula reports whether a spreadsheet would read piece, as the
// beginning of a cell, as a formula.
func beginsFormula(piece string) bool {
	trimmed := strings.TrimLeft(piece, ` "`)
	return trimmed != "" && strings.ContainsRune("=+-@", rune(trimmed[0]))
}

// Writer is an encoding/csv writer whose every cell is neutralised.
type Writer struct {
	csv    *csv.Writer
	record []string
}

// NewWriter returns a writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{csv: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record ...string) error {
	w.record = w.record[:0]
	for i, cell := range record {
		// A line's first cell runs on into the next for a spreadsheet that
		// splits the line elsewhere.
		w.record = append(w.record, neutralise(cell, i > 0 || len(record) == 1))
	}
	return w.csv.Write(w.record)
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// Float formats a number for a CSV cell: the shortest text that reads back
// as the same float64.
func Float(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
