// Package csvouttest reads a CSV file the way spreadsheets may, to tell
// whether any cell of it would run as a formula. It knows nothing of how
// csvout neutralises cells, so it can catch csvout's mistakes.
package csvouttest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Separators are the ones spreadsheets' import dialogs offer, by name.
var Separators = map[string]rune{"comma": ',', "semicolon": ';', "tab": '\t', "pipe": '|'}

var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// Formulas returns every cell of data that a spreadsheet would read as a
// formula, under each separator, read twice: honouring CSV quotes, and
// splitting at the separator and line breaks whatever the quotes (as a
// careless reader would). Each is described with the separator and line.
func Formulas(data []byte) []string {
	var found []string
	for name, separator := range Separators {
		reader := csv.NewReader(strings.NewReader(string(data)))
		reader.Comma, reader.LazyQuotes, reader.FieldsPerRecord = separator, true, -1
		for {
			record, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				found = append(found, fmt.Sprintf("%s: unreadable: %v", name, err))
				break
			}
			line, _ := reader.FieldPos(0)
			for _, cell := range record {
				if IsFormula(cell) {
					found = append(found, fmt.Sprintf("%s, line %d: %q", name, line, cell))
				}
			}
		}
		for number, line := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' || r == '\r' }) {
			for _, cell := range strings.Split(line, string(separator)) {
				if IsFormula(cell) {
					found = append(found, fmt.Sprintf("%s, ignoring quotes, line %d: %q", name, number+1, cell))
				}
			}
		}
	}
	return found
}

// IsFormula reports whether a spreadsheet would run cell: it begins, past
// any blanks and quotes a reader may trim, with =, +, - or @, and is not a
// plain number.
func IsFormula(cell string) bool {
	trimmed := strings.Trim(cell, " \t\r\"")
	if trimmed == "" {
		return false
	}
	switch trimmed[0] {
	case '=', '+', '-', '@':
		return !plainNumber.MatchString(trimmed)
	}
	return false
}
