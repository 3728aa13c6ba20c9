package kinds

func init() {
	register(&Kind{
		Name:        "research_facilities",
		Module:      "research_facilities",
		Description: "The lab's share of a shared research facility (a platform, a cluster, a beamline): the lab's share of its use times the facility's total emissions for the year, as the facility reports them (scope 3).",
		Columns: []Column{
			{Name: "facility", Type: TypeText, Required: true, Description: "The facility"},
			{Name: "facility_kg_co2e", Type: TypeNumber, Unit: "kg CO2e", Required: true, Description: "The facility's total emissions for the year"},
			{Name: "share_pct", Type: TypeNumber, Unit: "%", Description: "The lab's share of the facility's use, 0 to 100 (or give usage_hours and total_hours)"},
			{Name: "usage_hours", Type: TypeNumber, Unit: "h", Description: "Hours the lab used it"},
			{Name: "total_hours", Type: TypeNumber, Unit: "h", Description: "Hours it was used in all"},
			{Name: "uncertainty_pct", Type: TypeNumber, Unit: "%", Description: "The uncertainty of the facility's total, when it gives one (default 0)"},
		},
		Example: []string{"Electron microscopy platform", "48000", "12.5", "", "", "15"},
		compute: computeFacility,
	})
}

func computeFacility(row Row, _ Env) (Activity, error) {
	facility, errFacility := row.text("facility", true)
	total, errTotal := row.number("facility_kg_co2e", true, 0, 0, 1e12)
	share, errShare := row.number("share_pct", false, -1, 0, 100)
	used, errUsed := row.number("usage_hours", false, 0, 0, 1e9)
	all, errAll := row.number("total_hours", false, 0, 0, 1e9)
	uncertainty, errUncertainty := row.number("uncertainty_pct", false, 0, 0, 1000)
	if err := firstError(errFacility, errTotal, errShare, errUsed, errAll, errUncertainty); err != nil {
		return Activity{}, err
	}
	if share < 0 {
		switch {
		case all <= 0:
			return Activity{}, &FieldError{"share_pct", "required: the lab's share in %, or usage_hours and total_hours"}
		case used > all:
			return Activity{}, &FieldError{"usage_hours", "more than the facility's total_hours"}
		}
		share = used / all * 100
	}
	emission := Emission{EmissionType: "research_facility", Scope: 3, Quantity: share / 100, QuantityUnit: "share",
		KgCO2e: total * share / 100}
	emission.Factor.UncertaintyPct = uncertainty
	return Activity{
		Inputs: []Input{{"facility", facility}, {"facility_kg_co2e", total}, {"share_pct", share},
			{"usage_hours", used}, {"total_hours", all}, {"uncertainty_pct", uncertainty}},
		Emissions: []Emission{emission},
	}, nil
}
