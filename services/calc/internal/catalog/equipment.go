package catalog

import "github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"

// hoursPerWeek is the most hours a week has.
const hoursPerWeek = 168

func init() {
	register(&kinds.Kind{
		Name:           "equipment",
		LabElectricity: true,
		Module:         "equipment",
		Description:    "Electrical equipment: electricity used in a year, from its active and standby power and hours, times the grid factor of the lab's country.",
		Columns: []kinds.Column{
			{Name: "equipment_name", Type: kinds.TypeText, Required: true, Description: "What the equipment is"},
			{Name: "category", Type: kinds.TypeText, Required: true, Description: "scientific, it or other"},
			{Name: "quantity", Type: kinds.TypeInteger, Description: "How many identical units (default 1)"},
			{Name: "active_hours_per_week", Type: kinds.TypeNumber, Unit: "h/week", Required: true, Description: "Hours a week in use, 0 to 168"},
			{Name: "active_power_w", Type: kinds.TypeNumber, Unit: "W", Required: true, Description: "Power drawn in use"},
			{Name: "standby_hours_per_week", Type: kinds.TypeNumber, Unit: "h/week", Description: "Hours a week on standby (default 0); with the active hours at most 168"},
			{Name: "standby_power_w", Type: kinds.TypeNumber, Unit: "W", Description: "Power drawn on standby (default 0)"},
		},
		Derived: []kinds.Column{{Name: "kwh_per_year", Type: kinds.TypeNumber, Unit: "kWh", Description: "What the units use in a year, active and on standby"}},
		Example: []string{"Ultra-low freezer -80 °C", "scientific", "1", "168", "350", "0", "0"},
		Formula: computeEquipment,
	})
}

// computeEquipment: kWh/year = quantity × (active h/week × active W +
// standby h/week × standby W) × 52 / 1000; kg CO2e = kWh × the
// location-based grid factor of the lab's country (scope 2), with the
// market-based figure beside it.
func computeEquipment(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	name, errName := row.Text("equipment_name", true)
	category, errCategory := row.Choice("category", "", "scientific", "it", "other")
	quantity, errQuantity := row.Integer("quantity", 1, 1, 1_000_000)
	activeHours, errActiveHours := row.Number("active_hours_per_week", true, 0, 0, hoursPerWeek)
	activePower, errActivePower := row.Number("active_power_w", true, 0, 0, 10_000_000)
	standbyHours, errStandbyHours := row.Number("standby_hours_per_week", false, 0, 0, hoursPerWeek)
	standbyPower, errStandbyPower := row.Number("standby_power_w", false, 0, 0, 10_000_000)
	if err := kinds.FirstError(errName, errCategory, errQuantity, errActiveHours, errActivePower, errStandbyHours, errStandbyPower); err != nil {
		return kinds.Activity{}, err
	}
	if activeHours+standbyHours > hoursPerWeek {
		return kinds.Activity{}, &kinds.FieldError{Column: "standby_hours_per_week", Message: "active and standby hours add up to more than the 168 hours of a week"}
	}
	kWh := float64(quantity) * (activeHours*activePower + standbyHours*standbyPower) * 52 / 1000
	emissions, err := env.LabElectricity(kWh)
	if err != nil {
		return kinds.Activity{}, err
	}
	return kinds.Activity{
		Inputs: []kinds.Input{
			{Name: "equipment_name", Value: name}, {Name: "category", Value: category}, {Name: "quantity", Value: quantity},
			{Name: "active_hours_per_week", Value: activeHours}, {Name: "active_power_w", Value: activePower},
			{Name: "standby_hours_per_week", Value: standbyHours}, {Name: "standby_power_w", Value: standbyPower},
			{Name: "kwh_per_year", Value: kWh}, {Name: "country", Value: env.LabCountry},
		},
		Emissions: emissions,
	}, nil
}
