package kinds

// Headcount: members and students in full-time equivalents. They emit
// nothing themselves; their FTE is the denominator of per-FTE figures, so
// each row is recorded as a measure (scope 0, emission type fte, 0 kg).
func init() {
	for _, kind := range []struct{ name, who, example string }{
		{"member", "A member of the lab's staff (researcher, technician, administrator)", "Postdoctoral researcher"},
		{"student", "A student working in the lab (PhD, master's, intern)", "PhD student"},
	} {
		register(&Kind{
			Name:        kind.name,
			Module:      "headcount",
			Description: kind.who + ", in full-time equivalents over the year: the denominator of per-FTE figures.",
			Columns: []Column{
				{Name: "name", Type: TypeText, Description: "Who (optional; a pseudonym or an id is fine)"},
				{Name: "position", Type: TypeText, Description: "Position or programme (optional)"},
				{Name: "fte", Type: TypeNumber, Unit: "FTE", Required: true, Description: "Full-time equivalent over the year, from 0 to 1 (0.5: half time, or full time for six months)"},
			},
			Example:    []string{"", kind.example, "0.8"},
			NoOverride: true,
			compute:    computeHeadcount,
		})
	}
}

func computeHeadcount(row Row, _ Env) (Activity, error) {
	name, errName := row.text("name", false)
	position, errPosition := row.text("position", false)
	fte, errFTE := row.number("fte", true, 0, 0, 1)
	if err := firstError(errName, errPosition, errFTE); err != nil {
		return Activity{}, err
	}
	return Activity{
		Inputs:    []Input{{"name", name}, {"position", position}, {"fte", fte}},
		Emissions: []Emission{{EmissionType: "fte", Scope: 0, Quantity: fte, QuantityUnit: "FTE"}},
	}, nil
}
