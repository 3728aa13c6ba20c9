package catalog

import "github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"

func init() {
	register(&kinds.Kind{
		Name:        "research_facilities",
		Module:      "research_facilities",
		Description: "The lab's share of a shared research facility (a platform, a cluster, a beamline): the lab's share of its use times the facility's total emissions for the year, as the facility reports them (scope 3).",
		Columns: []kinds.Column{
			{Name: "facility", Type: kinds.TypeText, Required: true, Description: "The facility"},
			{Name: "facility_kg_co2e", Type: kinds.TypeNumber, Unit: "kg CO2e", Required: true, Description: "The facility's total emissions for the year"},
			{Name: "share_pct", Type: kinds.TypeNumber, Unit: "%", Description: "The lab's share of the facility's use, 0 to 100 (or give usage_hours and total_hours)"},
			{Name: "usage_hours", Type: kinds.TypeNumber, Unit: "h", Description: "Hours the lab used it"},
			{Name: "total_hours", Type: kinds.TypeNumber, Unit: "h", Description: "Hours it was used in all"},
			{Name: "uncertainty_pct", Type: kinds.TypeNumber, Unit: "%", Description: "The uncertainty of the facility's total, when it gives one (default 0)"},
		},
		Example: []string{"Electron microscopy platform", "48000", "12.5", "", "", "15"},
		Formula: computeFacility,
	})
}

func computeFacility(row kinds.Row, _ kinds.Env) (kinds.Activity, error) {
	facility, errFacility := row.Text("facility", true)
	total, errTotal := row.Number("facility_kg_co2e", true, 0, 0, 1e12)
	share, errShare := row.Number("share_pct", false, -1, 0, 100)
	used, errUsed := row.Number("usage_hours", false, 0, 0, 1e9)
	all, errAll := row.Number("total_hours", false, 0, 0, 1e9)
	uncertainty, errUncertainty := row.Number("uncertainty_pct", false, 0, 0, 1000)
	if err := kinds.FirstError(errFacility, errTotal, errShare, errUsed, errAll, errUncertainty); err != nil {
		return kinds.Activity{}, err
	}
	if share < 0 {
		switch {
		case all <= 0:
			return kinds.Activity{}, &kinds.FieldError{Column: "share_pct", Message: "required: the lab's share in %, or usage_hours and total_hours"}
		case used > all:
			return kinds.Activity{}, &kinds.FieldError{Column: "usage_hours", Message: "more than the facility's total_hours"}
		}
		share = used / all * 100
	}
	emission := kinds.Emission{EmissionType: "research_facility", Scope: 3, Quantity: share / 100, QuantityUnit: "share",
		KgCO2e: total * share / 100}
	emission.Factor.UncertaintyPct = uncertainty
	return kinds.Activity{
		Inputs: []kinds.Input{{Name: "facility", Value: facility}, {Name: "facility_kg_co2e", Value: total}, {Name: "share_pct", Value: share},
			{Name: "usage_hours", Value: used}, {Name: "total_hours", Value: all}, {Name: "uncertainty_pct", Value: uncertainty}},
		Emissions: []kinds.Emission{emission},
	}, nil
}
