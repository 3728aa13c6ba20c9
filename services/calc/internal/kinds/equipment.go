package kinds

// hoursPerWeek is the most hours a week has.
const hoursPerWeek = 168

func init() {
	register(&Kind{
		Name:        "equipment",
		Module:      "equipment",
		Description: "Electrical equipment: electricity used in a year, from its active and standby power and hours, times the grid factor of the lab's country.",
		Columns: []Column{
			{Name: "equipment_name", Type: TypeText, Required: true, Description: "What the equipment is"},
			{Name: "category", Type: TypeText, Required: true, Description: "scientific, it or other"},
			{Name: "quantity", Type: TypeInteger, Description: "How many identical units (default 1)"},
			{Name: "active_hours_per_week", Type: TypeNumber, Unit: "h/week", Required: true, Description: "Hours a week in use, 0 to 168"},
			{Name: "active_power_w", Type: TypeNumber, Unit: "W", Required: true, Description: "Power drawn in use"},
			{Name: "standby_hours_per_week", Type: TypeNumber, Unit: "h/week", Description: "Hours a week on standby (default 0); with the active hours at most 168"},
			{Name: "standby_power_w", Type: TypeNumber, Unit: "W", Description: "Power drawn on standby (default 0)"},
		},
		Example: []string{"Ultra-low freezer -80 °C", "scientific", "1", "168", "350", "0", "0"},
		compute: computeEquipment,
	})
}

// computeEquipment: kWh/year = quantity × (active h/week × active W +
// standby h/week × standby W) × 52 / 1000; kg CO2e = kWh × the
// location-based grid factor of the lab's country (scope 2), with the
// market-based figure beside it.
func computeEquipment(row Row, env Env) (Activity, error) {
	name, errName := row.text("equipment_name", true)
	category, errCategory := row.choice("category", "", "scientific", "it", "other")
	quantity, errQuantity := row.integer("quantity", 1, 1, 1_000_000)
	activeHours, errActiveHours := row.number("active_hours_per_week", true, 0, 0, hoursPerWeek)
	activePower, errActivePower := row.number("active_power_w", true, 0, 0, 10_000_000)
	standbyHours, errStandbyHours := row.number("standby_hours_per_week", false, 0, 0, hoursPerWeek)
	standbyPower, errStandbyPower := row.number("standby_power_w", false, 0, 0, 10_000_000)
	if err := firstError(errName, errCategory, errQuantity, errActiveHours, errActivePower, errStandbyHours, errStandbyPower); err != nil {
		return Activity{}, err
	}
	if activeHours+standbyHours > hoursPerWeek {
		return Activity{}, &FieldError{"standby_hours_per_week", "active and standby hours add up to more than the 168 hours of a week"}
	}
	kWh := float64(quantity) * (activeHours*activePower + standbyHours*standbyPower) * 52 / 1000
	emissions, err := env.labElectricity(kWh)
	if err != nil {
		return Activity{}, err
	}
	return Activity{
		Inputs: []Input{
			{"equipment_name", name}, {"category", category}, {"quantity", quantity},
			{"active_hours_per_week", activeHours}, {"active_power_w", activePower},
			{"standby_hours_per_week", standbyHours}, {"standby_power_w", standbyPower},
			{"kwh_per_year", kWh}, {"country", env.LabCountry},
		},
		Emissions: emissions,
	}, nil
}
