package csvout_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout/csvouttest"
)

// hostile are cells a user could type into a name, with the cell csvout
// must write for each.
var hostile = []struct{ cell, want string }{
	{`=HYPERLINK("http://x")`, `'=HYPERLINK("http://x")`},
	{"+1+2", "'+1+2"},
	{"-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
	{"@SUM(A1)", "'@SUM(A1)"},
	{"\tx", "'\tx"},
	{"\rx", "'\rx"},
	// A formula after any separator a spreadsheet may split at.
	{"PC;=1+1;", "PC;'=1+1;"},
	{"PC,=1+1", "PC,'=1+1"},
	{"PC\t@SUM(A1)", "PC\t'@SUM(A1)"},
	{"PC|+1", "PC|'+1"},
	{"PC\n-1+1", "PC\n'-1+1"},
	{"\t=1", "'\t'=1"},
	{"a;b;=1;c,=2|@3", "a;b;'=1;c,'=2|'@3"},
	// Blanks and quotes a spreadsheet may trim.
	{" =1+1", "' =1+1"},
	{`PC; "=1+1"`, `PC;' "=1+1"`},
	// Numbers stay numbers, alone or among pieces.
	{"-12.5", "-12.5"},
	{"3e-4", "3e-4"},
	{"-1.5E+3", "-1.5E+3"},
	// A number within text begins a longer cell for a spreadsheet that
	// splits elsewhere: "-12.5;b" at commas.
	{"a;-12.5;b", "a;'-12.5;b"},
	{"-12,5", "'-12,5"},
	// Nothing to do.
	{"plain", "plain"},
	{"", ""},
	{"a-b=c", "a-b=c"},
	{`{"note":"=1+1"}`, `{"note":"=1+1"}`},
	{";", ";"},
}

func TestNeutraliseQuotesEveryPieceThatBeginsAFormula(t *testing.T) {
	for _, c := range hostile {
		if got := csvout.Neutralise(c.cell); got != c.want {
			t.Errorf("Neutralise(%q) = %q, want %q", c.cell, got, c.want)
		}
	}
}

func TestNoSeparatorMakesAFormulaOfTheWrittenFile(t *testing.T) {
	var cells []string
	for _, c := range hostile {
		cells = append(cells, c.cell)
	}
	var written, unguarded bytes.Buffer
	w := csvout.NewWriter(&written)
	if err := w.Write(cells...); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if found := csvouttest.Formulas(written.Bytes()); len(found) > 0 {
		t.Errorf("formulas in %q:\n%s", written.String(), strings.Join(found, "\n"))
	}
	// The checker finds them in the same cells written plainly.
	plain := csv.NewWriter(&unguarded)
	_ = plain.Write(cells)
	plain.Flush()
	if found := csvouttest.Formulas(unguarded.Bytes()); len(found) < len(hostile)/2 {
		t.Errorf("the checker found only %v in %q", found, unguarded.String())
	}
	// Read back with the file's own separator, every cell is the neutralised one.
	got, err := csv.NewReader(&written).Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range hostile {
		if got[i] != c.want {
			t.Errorf("cell %d: read back %q, want %q", i, got[i], c.want)
		}
	}
}

func TestARecordsFirstNumberIsQuotedWhenCellsFollow(t *testing.T) {
	var buf bytes.Buffer
	w := csvout.NewWriter(&buf)
	for _, record := range [][]string{{"-12.5", "cmd|' /C calc'!A0"}, {"x", "-12.5"}, {"-12.5"}} {
		if err := w.Write(record...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Read at semicolons, the first line would be one cell "-12.5,cmd|...".
	if want := "'-12.5,cmd|' /C calc'!A0\nx,-12.5\n-12.5\n"; buf.String() != want {
		t.Fatalf("%q, want %q", buf.String(), want)
	}
	if found := csvouttest.Formulas(buf.Bytes()); len(found) > 0 {
		t.Fatal(found)
	}
}

func FuzzNeutralise(f *testing.F) {
	for _, c := range hostile {
		f.Add(c.cell)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		var buf bytes.Buffer
		w := csvout.NewWriter(&buf)
		if err := w.Write(cell, "next"); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if found := csvouttest.Formulas(buf.Bytes()); len(found) > 0 {
			t.Fatalf("%q written as %q: %v", cell, buf.String(), found)
		}
		// Only single quotes are added.
		if got := csvout.Neutralise(cell); strings.ReplaceAll(got, "'", "") != strings.ReplaceAll(cell, "'", "") {
			t.Fatalf("Neutralise(%q) = %q", cell, got)
		}
	})
}
