// Package csvout writes the CSV files the system hands out (reports,
// exports) so that a spreadsheet opening them runs no formula: a cell that
// begins with =, +, -, @, a tab or a carriage return gets a single quote in
// front (the OWASP "CSV injection" advice). Numbers the system writes
// itself, negative ones included, are left as they are: a plain decimal
// number is data to every spreadsheet.
package csvout

import (
	"encoding/csv"
	"io"
	"regexp"
	"strconv"
)

// plainNumber is a decimal number without anything a formula could hide in.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// Neutralise returns cell, prefixed with a single quote when a spreadsheet
// would read it as a formula.
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if cell[0] == '-' && plainNumber.MatchString(cell) {
			return cell
		}
		return "'" + cell
	}
	return cell
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
	for _, cell := range record {
		w.record = append(w.record, Neutralise(cell))
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
