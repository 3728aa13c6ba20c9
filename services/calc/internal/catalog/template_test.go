package catalog

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout/csvouttest"
)

func TestTemplatesReadBackAsWrittenAndRunNoFormula(t *testing.T) {
	for _, kind := range All() {
		template := kind.CSV()
		if found := csvouttest.Formulas([]byte(template)); len(found) > 0 {
			t.Errorf("%s: %v", kind.Name, found)
		}
		// The example's own cells need no quote: they read back unchanged.
		rows, err := csv.NewReader(strings.NewReader(template)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s: %d rows, %v", kind.Name, len(rows), err)
		}
		var names []string
		for _, column := range kind.Columns {
			names = append(names, column.Name)
		}
		if !slices.Equal(rows[0], names) || !slices.Equal(rows[1], kind.Example) {
			t.Errorf("%s: read back %q, want %q and %q", kind.Name, rows, names, kind.Example)
		}
	}
	// A template whose example held hostile cells would still run none.
	hostile := &kinds.Kind{
		Columns: []kinds.Column{{Name: "name"}, {Name: "note"}, {Name: "value"}},
		Example: []string{"-1+1", "PC;=1+1;", "x|@SUM(A1)\t+2"},
	}
	if found := csvouttest.Formulas([]byte(hostile.CSV())); len(found) > 0 {
		t.Errorf("%q: %v", hostile.CSV(), found)
	}
}

// Every derived figure a kind declares (which scenario rules may select
// rows by) is recorded with the inputs of its example row.
func TestDerivedFiguresAreRecordedWithTheInputs(t *testing.T) {
	env := kinds.Env{Year: 2025, LabCountry: "CH", Factors: bundled(t)}
	for _, kind := range All() {
		if len(kind.Derived) == 0 {
			continue
		}
		activity, err := kind.Compute(kinds.NewRow(kinds.Lower(namesOf(kind.Columns)), kind.Example), env)
		if err != nil {
			t.Fatalf("%s: %v", kind.Name, err)
		}
		recorded := map[string]bool{}
		for _, input := range activity.Inputs {
			recorded[input.Name] = true
		}
		for _, derived := range kind.Derived {
			if !recorded[derived.Name] {
				t.Errorf("%s declares %s, which its inputs do not record", kind.Name, derived.Name)
			}
		}
	}
}

func namesOf(columns []kinds.Column) []string {
	names := make([]string, len(columns))
	for i, column := range columns {
		names[i] = column.Name
	}
	return names
}
