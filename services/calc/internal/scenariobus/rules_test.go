package scenariobus

import (
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

func bundledEnv(t *testing.T) kinds.Env {
	t.Helper()
	all, err := factors.Default()
	if err != nil {
		t.Fatal(err)
	}
	return kinds.Env{Year: 2025, LabCountry: "CH", Factors: factors.NewSet(all)}
}

// recorded computes a row as an import would, and returns its kind, its
// recorded inputs decoded and its columns: what a scenario reads back.
func recorded(t *testing.T, env kinds.Env, kindName string, values map[string]string) (*kinds.Kind, map[string]string, kinds.Row) {
	t.Helper()
	kind, _ := catalog.Lookup(kindName)
	activity, err := kind.Compute(kinds.Row(values), env)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{}
	if err := ledger.InputTexts(ledger.AppendInputs(nil, activity.Inputs), inputs); err != nil {
		t.Fatal(err)
	}
	row := kinds.Row{}
	ledger.RowFrom(inputs, kind, row)
	return kind, inputs, row
}

func total(t *testing.T, kind *kinds.Kind, row kinds.Row, env kinds.Env) float64 {
	t.Helper()
	activity, err := kind.Compute(row, env)
	if err != nil {
		t.Fatalf("%s %v: %v", kind.Name, row, err)
	}
	var kg float64
	for _, e := range activity.Emissions {
		if e.Variant == "" {
			kg += e.KgCO2e
		}
	}
	return kg
}

// "Flights under 1,000 km become train journeys": a short flight is the
// train journey between the same cities, a long one stays a flight.
func TestShortFlightsBecomeTrainJourneys(t *testing.T) {
	env := bundledEnv(t)
	rules := []Rule{{Kind: "plane", Where: []Condition{{Column: "great_circle_km", Op: "lt", Value: "1000"}}, ToKind: "train"}}
	if err := CheckRules(rules); err != nil {
		t.Fatal(err)
	}
	matches := make([]int64, 1)

	kind, inputs, row := recorded(t, env, "plane", map[string]string{"departure": "GVA", "arrival": "CDG", "trips": "2", "round_trip": "yes"})
	out := apply(rules, kind, inputs, row, matches)
	if out.kind.Name != "train" || out.removed || out.changedBy != 0 {
		t.Fatalf("GVA-CDG: %+v", out)
	}
	train, _ := catalog.Lookup("train")
	want := total(t, train, kinds.Row{"origin": "GVA", "destination": "CDG", "trips": "2", "round_trip": "true"}, env)
	if got := total(t, out.kind, row, env); got != want || got == 0 {
		t.Fatalf("GVA-CDG by train: %g kg, want %g", got, want)
	}

	kind, inputs, row = recorded(t, env, "plane", map[string]string{"departure": "GVA", "arrival": "JFK"})
	if out := apply(rules, kind, inputs, row, matches); out.kind.Name != "plane" || out.changedBy != -1 {
		t.Fatalf("GVA-JFK changed: %+v", out)
	}
	if matches[0] != 1 {
		t.Fatalf("matches %v, want one row", matches)
	}
}

// "Economy instead of business on long-haul" selects by a derived figure
// (haul) and a column, and sets the class.
func TestLongHaulBusinessFliesEconomy(t *testing.T) {
	env := bundledEnv(t)
	rules := []Rule{{Kind: "plane", Where: []Condition{{Column: "haul", Op: "eq", Value: "long_haul"}, {Column: "cabin_class", Op: "in", Values: []string{"business", "first"}}},
		Set: map[string]string{"cabin_class": "economy"}}}
	if err := CheckRules(rules); err != nil {
		t.Fatal(err)
	}
	matches := make([]int64, 1)
	kind, inputs, row := recorded(t, env, "plane", map[string]string{"departure": "GVA", "arrival": "JFK", "cabin_class": "business"})
	before := total(t, kind, row, env)
	apply(rules, kind, inputs, row, matches)
	economy := total(t, kind, kinds.Row{"departure": "GVA", "arrival": "JFK"}, env)
	if got := total(t, kind, row, env); got != economy || got >= before {
		t.Fatalf("business to economy: %g kg (business %g), want %g", got, before, economy)
	}
	// Short-haul business is not long-haul: untouched.
	kind, inputs, row = recorded(t, env, "plane", map[string]string{"departure": "GVA", "arrival": "LHR", "cabin_class": "business"})
	if out := apply(rules, kind, inputs, row, matches); out.changedBy != -1 || row["cabin_class"] != "business" {
		t.Fatalf("short-haul changed: %+v %v", out, row)
	}
}

// "Equipment active hours -20 %" and "purchases of category X -30 %".
func TestScalingColumns(t *testing.T) {
	env := bundledEnv(t)
	rules := []Rule{
		{Kind: "equipment", Scale: map[string]float64{"active_hours_per_week": 0.8}},
		{Kind: "purchases", Where: []Condition{{Column: "category", Op: "eq", Value: "334516"}}, Scale: map[string]float64{"amount": 0.7}},
	}
	if err := CheckRules(rules); err != nil {
		t.Fatal(err)
	}
	matches := make([]int64, 2)
	kind, inputs, row := recorded(t, env, "equipment", map[string]string{"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "100", "active_power_w": "350"})
	before := total(t, kind, row, env)
	apply(rules, kind, inputs, row, matches)
	if row["active_hours_per_week"] != "80" {
		t.Fatalf("hours %q, want 80", row["active_hours_per_week"])
	}
	if got := total(t, kind, row, env); !near(got, before*0.8) {
		t.Fatalf("equipment %g kg, want %g", got, before*0.8)
	}
	kind, inputs, row = recorded(t, env, "purchases", map[string]string{"category": "334516", "amount": "10000", "currency": "CHF"})
	before = total(t, kind, row, env)
	apply(rules, kind, inputs, row, matches)
	if got := total(t, kind, row, env); !near(got, before*0.7) {
		t.Fatalf("purchases %g kg, want %g", got, before*0.7)
	}
	kind, inputs, row = recorded(t, env, "purchases", map[string]string{"category": "541511", "amount": "10000", "currency": "CHF"})
	if out := apply(rules, kind, inputs, row, matches); out.changedBy != -1 || row["amount"] != "10000" {
		t.Fatalf("another category changed: %+v %v", out, row)
	}
	if matches[0] != 1 || matches[1] != 1 {
		t.Fatalf("matches %v", matches)
	}
}

func near(a, b float64) bool { return a-b < 1e-9*b && b-a < 1e-9*b }

// A rule naming an unknown kind, column or operator is refused, naming
// the field to fix.
func TestBadRulesNameTheField(t *testing.T) {
	cases := []struct {
		rule  Rule
		field string
	}{
		{Rule{Kind: "spaceship", Remove: true}, "rules[0].kind"},
		{Rule{Kind: "plane", Where: []Condition{{Column: "altitude", Op: "gt", Value: "1"}}, Remove: true}, "rules[0].where[0].column"},
		{Rule{Kind: "plane", Where: []Condition{{Column: "haul", Op: "like", Value: "x"}}, Remove: true}, "rules[0].where[0].op"},
		{Rule{Kind: "plane", Where: []Condition{{Column: "distance_km", Op: "lt", Value: "far"}}, Remove: true}, "rules[0].where[0].value"},
		{Rule{Kind: "plane", Set: map[string]string{"seat": "window"}}, "rules[0].set"},
		{Rule{Kind: "plane", Scale: map[string]float64{"cabin_class": 0.5}}, "rules[0].scale"},
		{Rule{Kind: "plane", ToKind: "rocket"}, "rules[0].to_kind"},
		{Rule{Kind: "plane", ToKind: "train", Rename: map[string]string{"origin": "gate"}}, "rules[0].rename"},
		{Rule{Kind: "plane"}, "rules[0]"},
		{Rule{Contract: &Contract{KgPerKWh: 5}}, "rules[0].contract.kg_co2e_per_kwh"},
	}
	for _, c := range cases {
		err := CheckRules([]Rule{c.rule})
		if err == nil || !strings.Contains(err.Error(), c.field+": ") {
			t.Errorf("%+v: %v, want an error naming %s", c.rule, err, c.field)
		}
	}
}
