package catalog

import "github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"

// Headcount: members and students in full-time equivalents. They emit
// nothing themselves; their FTE is the denominator of per-FTE figures, so
// each row is recorded as a measure (scope 0, emission type fte, 0 kg).
func init() {
	for _, kind := range []struct{ name, who, example string }{
		{"member", "A member of the lab's staff (researcher, technician, administrator)", "Postdoctoral researcher"},
		{"student", "A student working in the lab (PhD, master's, intern)", "PhD student"},
	} {
		register(&kinds.Kind{
			Name:        kind.name,
			Module:      "headcount",
			Description: kind.who + ", in full-time equivalents over the year: the denominator of per-FTE figures.",
			Columns: []kinds.Column{
				{Name: "name", Type: kinds.TypeText, Description: "Who (optional; a pseudonym or an id is fine)"},
				{Name: "position", Type: kinds.TypeText, Description: "Position or programme (optional)"},
				{Name: "fte", Type: kinds.TypeNumber, Unit: "FTE", Required: true, Description: "Full-time equivalent over the year, from 0 to 1 (0.5: half time, or full time for six months)"},
			},
			Example:    []string{"", kind.example, "0.8"},
			NoOverride: true,
			Formula:    computeHeadcount,
		})
	}
}

func computeHeadcount(row kinds.Row, _ kinds.Env) (kinds.Activity, error) {
	name, errName := row.Text("name", false)
	position, errPosition := row.Text("position", false)
	fte, errFTE := row.Number("fte", true, 0, 0, 1)
	if err := kinds.FirstError(errName, errPosition, errFTE); err != nil {
		return kinds.Activity{}, err
	}
	return kinds.Activity{
		Inputs:    []kinds.Input{{Name: "name", Value: name}, {Name: "position", Value: position}, {Name: "fte", Value: fte}},
		Emissions: []kinds.Emission{{EmissionType: "fte", Scope: 0, Quantity: fte, QuantityUnit: "FTE"}},
	}, nil
}
