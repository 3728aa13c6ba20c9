package scenariobus

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Rule changes the scenario's rows of one kind that match every condition:
// it sets columns, scales numeric columns, turns the rows into another kind,
// or removes them — in that order. A rule with a contract instead declares
// the electricity supply the scenario's market-based figures use.
type Rule struct {
	Description string             `json:"description,omitempty"`
	Kind        string             `json:"kind,omitempty"`
	Where       []Condition        `json:"where,omitempty"`
	Set         map[string]string  `json:"set,omitempty"`
	Scale       map[string]float64 `json:"scale,omitempty"`
	ToKind      string             `json:"to_kind,omitempty"`
	// Rename names, for a column of ToKind, the column (or derived figure)
	// of Kind it takes its value from; by default the column of the same
	// name (and, from plane to train, departure and arrival).
	Rename   map[string]string `json:"rename,omitempty"`
	Remove   bool              `json:"remove,omitempty"`
	Contract *Contract         `json:"contract,omitempty"`
}

// Condition compares a column or derived figure of a row with a value:
// numerically when both are numbers, else as text ignoring case.
type Condition struct {
	Column string   `json:"column"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Contract is an electricity supply the scenario declares for the lab's
// own consumption (market-based scope 2), instead of the lab's.
type Contract struct {
	Supplier       string  `json:"supplier,omitempty"`
	KgPerKWh       float64 `json:"kg_co2e_per_kwh"`
	UncertaintyPct float64 `json:"uncertainty_pct,omitempty"`
	Source         string  `json:"source,omitempty"`
}

// The comparison operators of conditions.
const (
	opEq = "eq"
	opNe = "ne"
	opLt = "lt"
	opLe = "le"
	opGt = "gt"
	opGe = "ge"
	opIn = "in"
)

var operators = []string{opEq, opNe, opLt, opLe, opGt, opGe, opIn}

// conversions are the columns a row of one kind takes from another's when
// a rule turns it into that kind: target column ← source column, beyond
// the columns of the same name.
var conversions = map[[2]string]map[string]string{
	{"plane", "train"}: {"origin": "departure", "destination": "arrival"},
}

// Bounds of a scenario's definition.
const (
	maxRules      = 50
	maxConditions = 20
	maxValues     = 1000
	maxScale      = 1000
	// maxKgPerKWh is the largest credible supply factor (coal-fired
	// generation is about 1 kg CO2e per kWh), as for contracts.
	maxKgPerKWh = 2
)

// CheckRules says what is wrong with rules, naming the field.
func CheckRules(rules []Rule) error {
	var problems apperr.Violations
	if len(rules) > maxRules {
		problems.Add("rules", "at most %d rules (got %d)", maxRules, len(rules))
		return problems.Err()
	}
	contracts := 0
	for i := range rules {
		checkRule(&problems, fmt.Sprintf("rules[%d]", i), &rules[i])
		if rules[i].Contract != nil {
			contracts++
		}
	}
	if contracts > 1 {
		problems.Add("rules", "at most one rule declares a contract (got %d)", contracts)
	}
	return problems.Err()
}

func checkRule(problems *apperr.Violations, field string, r *Rule) {
	if r.Contract != nil {
		if r.Kind != "" || len(r.Where) > 0 || len(r.Set) > 0 || len(r.Scale) > 0 || r.ToKind != "" || r.Remove {
			problems.Add(field, "a rule with a contract does nothing else: give the contract alone")
		}
		c := r.Contract
		if c.KgPerKWh < 0 || c.KgPerKWh > maxKgPerKWh || math.IsNaN(c.KgPerKWh) {
			problems.Add(field+".contract.kg_co2e_per_kwh", "%g is out of range: from 0 to %d kg CO2e per kWh", c.KgPerKWh, maxKgPerKWh)
		}
		if c.UncertaintyPct < 0 || c.UncertaintyPct > 1000 || math.IsNaN(c.UncertaintyPct) {
			problems.Add(field+".contract.uncertainty_pct", "%g is out of range: from 0 to 1000 %%", c.UncertaintyPct)
		}
		return
	}
	kind, ok := catalog.Lookup(r.Kind)
	if !ok {
		if r.Kind == "" {
			problems.Add(field+".kind", "required: the kind of the rows the rule changes (one of %s), or a contract", catalog.Names())
		} else {
			problems.Add(field+".kind", "%q is not a kind: give one of %s", r.Kind, catalog.Names())
		}
		return
	}
	r.Kind = kind.Name
	if len(r.Where) > maxConditions {
		problems.Add(field+".where", "at most %d conditions (got %d)", maxConditions, len(r.Where))
	}
	for j, c := range r.Where {
		checkCondition(problems, fmt.Sprintf("%s.where[%d]", field, j), kind, c)
	}
	if len(r.Set) == 0 && len(r.Scale) == 0 && r.ToKind == "" && !r.Remove {
		problems.Add(field, "the rule changes nothing: give set, scale, to_kind or remove")
	}
	if r.Remove && (len(r.Set) > 0 || len(r.Scale) > 0 || r.ToKind != "") {
		problems.Add(field+".remove", "a rule that removes rows does nothing else")
	}
	for column := range r.Set {
		if _, ok := kind.Column(column); !ok {
			problems.Add(field+".set", "%q is not a column of %s: give one of %s", column, kind.Name, columnNames(kind.Columns))
		}
	}
	for column, factor := range r.Scale {
		switch c, ok := kind.Column(column); {
		case !ok:
			problems.Add(field+".scale", "%q is not a column of %s: give one of %s", column, kind.Name, columnNames(kind.Columns))
		case c.Type != kinds.TypeNumber && c.Type != kinds.TypeInteger:
			problems.Add(field+".scale", "%s of %s is not a number: only numeric columns scale", column, kind.Name)
		case factor < 0 || factor > maxScale || math.IsNaN(factor):
			problems.Add(field+".scale", "%s: %g is out of range: a factor from 0 to %d (0.8 is -20 %%)", column, factor, maxScale)
		}
	}
	if r.ToKind == "" {
		if len(r.Rename) > 0 {
			problems.Add(field+".rename", "rename goes with to_kind")
		}
		return
	}
	target, ok := catalog.Lookup(r.ToKind)
	switch {
	case !ok:
		problems.Add(field+".to_kind", "%q is not a kind: give one of %s", r.ToKind, catalog.Names())
		return
	case target == kind:
		problems.Add(field+".to_kind", "the rows are %s already", kind.Name)
		return
	}
	r.ToKind = target.Name
	for to, from := range r.Rename {
		if _, ok := target.Column(to); !ok {
			problems.Add(field+".rename", "%q is not a column of %s: give one of %s", to, target.Name, columnNames(target.Columns))
		}
		if _, ok := kind.Figure(from); !ok {
			problems.Add(field+".rename", "%s: %q is neither a column nor a derived figure of %s", to, from, kind.Name)
		}
	}
}

func checkCondition(problems *apperr.Violations, field string, kind *kinds.Kind, c Condition) {
	if _, ok := kind.Figure(c.Column); !ok {
		problems.Add(field+".column", "%q is not a column or derived figure of %s: give one of %s", c.Column, kind.Name,
			columnNames(append(append([]kinds.Column(nil), kind.Columns...), kind.Derived...)))
	}
	switch c.Op {
	case opIn:
		if len(c.Values) == 0 || len(c.Values) > maxValues {
			problems.Add(field+".values", "give 1 to %d values for op in (got %d)", maxValues, len(c.Values))
		}
	case opLt, opLe, opGt, opGe:
		if _, ok := number(c.Value); !ok {
			problems.Add(field+".value", "%q is not a number: op %s compares numbers", c.Value, c.Op)
		}
	case opEq, opNe:
	default:
		problems.Add(field+".op", "%q is not an operator: give one of %s", c.Op, strings.Join(operators, ", "))
	}
}

func columnNames(columns []kinds.Column) string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// number reads a cell as imports do: a comma is the decimal point when
// there is no dot.
func number(text string) (float64, bool) {
	text = strings.TrimSpace(text)
	if !strings.Contains(text, ".") {
		text = strings.Replace(text, ",", ".", 1)
	}
	value, err := strconv.ParseFloat(text, 64)
	return value, err == nil && !math.IsNaN(value)
}

// contractOf is the contract the rules declare, nil when none does.
func contractOf(rules []Rule) *kinds.Contract {
	for _, r := range rules {
		if c := r.Contract; c != nil {
			return &kinds.Contract{Supplier: c.Supplier, KgPerKWh: c.KgPerKWh, UncertaintyPct: c.UncertaintyPct, Source: c.Source}
		}
	}
	return nil
}

// applied is what the rules made of one row.
type applied struct {
	kind    *kinds.Kind
	removed bool
	// changedBy is the last rule that changed the row, -1 for none.
	changedBy int
}

// apply runs the rules over a row of kind: row holds its columns (and is
// changed in place), inputs everything recorded with it. matches counts
// the rows each rule changed.
func apply(rules []Rule, kind *kinds.Kind, inputs map[string]string, row kinds.Row, matches []int64) applied {
	out := applied{kind: kind, changedBy: -1}
	for i := range rules {
		r := &rules[i]
		if r.Contract != nil || r.Kind != out.kind.Name || !matchesAll(r.Where, out.kind, inputs, row) {
			continue
		}
		matches[i]++
		out.changedBy = i
		if r.Remove {
			out.removed = true
			return out
		}
		for column, value := range r.Set {
			row[column] = value
		}
		for column, factor := range r.Scale {
			scale(row, out.kind, column, factor)
		}
		if r.ToKind != "" {
			target, _ := catalog.Lookup(r.ToKind) // checked by CheckRules
			convert(row, inputs, out.kind, target, r.Rename)
			out.kind = target
		}
	}
	return out
}

// matchesAll says whether the row meets every condition; a figure the row
// lacks meets none.
func matchesAll(where []Condition, kind *kinds.Kind, inputs map[string]string, row kinds.Row) bool {
	for _, c := range where {
		value, ok := row[c.Column]
		if _, isColumn := kind.Column(c.Column); !isColumn {
			value, ok = inputs[c.Column]
		}
		if !ok || value == "" || !meets(c, value) {
			return false
		}
	}
	return true
}

func meets(c Condition, value string) bool {
	switch c.Op {
	case opEq:
		return equal(value, c.Value)
	case opNe:
		return !equal(value, c.Value)
	case opIn:
		for _, v := range c.Values {
			if equal(value, v) {
				return true
			}
		}
		return false
	}
	have, ok := number(value)
	want, _ := number(c.Value)
	if !ok {
		return false
	}
	switch c.Op {
	case opLt:
		return have < want
	case opLe:
		return have <= want
	case opGt:
		return have > want
	default:
		return have >= want
	}
}

func equal(a, b string) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return x == y
		}
	}
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// scale multiplies a numeric cell; whole-number columns are rounded. An
// empty cell (the kind's default) is left as it is.
func scale(row kinds.Row, kind *kinds.Kind, column string, factor float64) {
	value, ok := number(row[column])
	if !ok {
		return // empty or not a number: the computation says what is wrong
	}
	value *= factor
	if c, _ := kind.Column(column); c.Type == kinds.TypeInteger {
		row[column] = strconv.FormatInt(int64(math.Round(value)), 10)
		return
	}
	row[column] = strconv.FormatFloat(value, 'g', -1, 64)
}

// convert turns row (of kind from) into a row of kind to: each column of
// to takes the value of the source rename names (a column or a derived
// figure), else of the conversion's default, else of the column of the
// same name. A figure given for the
// row (kg_co2e) is left behind unless renamed explicitly.
func convert(row kinds.Row, inputs map[string]string, from, to *kinds.Kind, rename map[string]string) {
	source := make(map[string]string, len(row))
	for k, v := range row {
		source[k] = v
	}
	defaults := conversions[[2]string{from.Name, to.Name}]
	clear(row)
	for _, column := range to.Columns {
		name, explicit := rename[column.Name]
		if !explicit {
			if name = defaults[column.Name]; name == "" {
				name = column.Name
			}
			if name == kinds.OverrideColumn {
				continue
			}
		}
		if value := source[name]; value != "" {
			row[column.Name] = value
		} else if _, isColumn := from.Column(name); !isColumn && explicit {
			// A derived figure, named explicitly: a flight's distance_km
			// given as the train's.
			if recorded, ok := inputs[name]; ok {
				row[column.Name] = recorded
			}
		}
	}
}
