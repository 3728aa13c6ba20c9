// Package catalog is the calculator's kinds of activity data, by module:
// their columns, examples and formulas (docs/modules.md), and the registry
// the import pipeline, the single-entry path and the templates go through,
// so a new kind is a new file here.
package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog/travel"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

var registry = map[string]*kinds.Kind{}

// The kinds of the modules with a package of their own.
func init() {
	register(travel.Plane)
	register(travel.Train)
	register(travel.Car)
	register(travel.Bus)
	register(travel.Coach)
	register(travel.Tram)
	register(travel.Ferry)
	register(travel.Taxi)
}

func register(kind *kinds.Kind) {
	if len(kind.Example) != len(kind.Columns) {
		panic(fmt.Sprintf("kind %s: the example has %d values for %d columns", kind.Name, len(kind.Example), len(kind.Columns)))
	}
	if !kind.NoOverride {
		kind.Columns = append(kind.Columns, kinds.Column{Name: kinds.OverrideColumn, Type: kinds.TypeNumber, Unit: "kg CO2e",
			Description: "A known figure for the row, kept instead of the computed one and flagged as an override (optional)"})
		kind.Example = append(kind.Example, "")
	}
	registry[kind.Name] = kind
}

// Lookup returns a kind by name.
func Lookup(name string) (*kinds.Kind, bool) {
	kind, ok := registry[strings.ToLower(strings.TrimSpace(name))]
	return kind, ok
}

// All returns every kind, by module then name.
func All() []*kinds.Kind {
	all := make([]*kinds.Kind, 0, len(registry))
	for _, kind := range registry {
		all = append(all, kind)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Module != all[j].Module {
			return all[i].Module < all[j].Module
		}
		return all[i].Name < all[j].Name
	})
	return all
}

// UsingLabElectricity lists the kinds whose figures depend on the lab's
// electricity contract.
func UsingLabElectricity() []string {
	var names []string
	for _, kind := range All() {
		if kind.LabElectricity {
			names = append(names, kind.Name)
		}
	}
	return names
}

// Names lists the kinds' names.
func Names() string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
