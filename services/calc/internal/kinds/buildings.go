package kinds

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// Fuels burnt in the lab's buildings (scope 1) and heat bought from a
// district network (scope 2), each with its factor's unit.
var fuels = []string{"natural_gas", "heating_oil", "gas_oil", "lpg", "wood_pellets", "wood_chips", "district_heating"}

func init() {
	register(&Kind{
		Name:        "energy_combustion",
		Module:      "buildings",
		Description: "Fuel burnt for the lab's buildings (scope 1), or district heat bought (scope 2): quantity times the fuel's factor.",
		Columns: []Column{
			{Name: "building", Type: TypeText, Description: "Which building or boiler (optional)"},
			{Name: "fuel", Type: TypeText, Required: true, Description: strings.Join(fuels, ", ")},
			{Name: "quantity", Type: TypeNumber, Required: true, Description: "How much, in the fuel's unit: kWh (gross calorific value) for natural_gas, wood_pellets, wood_chips and district_heating; litres for heating_oil, gas_oil and lpg"},
			{Name: "unit", Type: TypeText, Description: "The unit of quantity, checked against the fuel's (optional): kWh or litre"},
		},
		Example: []string{"Main building boiler", "natural_gas", "120000", "kWh"},
		compute: computeCombustion,
	})
	register(&Kind{
		Name:        "rooms",
		Module:      "buildings",
		Description: "The energy of the rooms the lab occupies: floor area times the room's yearly energy use per m², times the factor of the energy (electricity both ways, heat).",
		Columns: []Column{
			{Name: "room", Type: TypeText, Required: true, Description: "The room, e.g. its number"},
			{Name: "room_type", Type: TypeText, Description: "office, laboratory, storage or other (default other)"},
			{Name: "area_m2", Type: TypeNumber, Unit: "m²", Required: true, Description: "Floor area the lab uses"},
			{Name: "kwh_per_m2", Type: TypeNumber, Unit: "kWh/m²/year", Required: true, Description: "The room's yearly energy use per m² (from the building's meters or its energy certificate)"},
			{Name: "energy", Type: TypeText, Description: "electricity (default), natural_gas or district_heating"},
		},
		Example: []string{"BC 410", "laboratory", "45", "310", "electricity"},
		compute: computeRooms,
	})
}

// fuelEmission is what quantity of fuel emits: scope 1 burnt on site,
// scope 2 for district heat.
func (env Env) fuelEmission(fuel string, quantity float64) (Emission, error) {
	factor, fallback, err := env.factor(factors.Key{Kind: "fuel", EmissionType: "combustion", Classification: fuel})
	if err != nil {
		return Emission{}, err
	}
	emission := Emission{EmissionType: "energy_combustion", Scope: 1, Quantity: quantity, QuantityUnit: factor.Unit,
		KgCO2e: quantity * factor.Value, Factor: factor, Fallback: fallback}
	if fuel == "district_heating" {
		emission.EmissionType, emission.Scope = "district_heating", 2
	}
	return emission, nil
}

func computeCombustion(row Row, env Env) (Activity, error) {
	building, errBuilding := row.text("building", false)
	fuel, errFuel := row.choice("fuel", "", fuels...)
	quantity, errQuantity := row.number("quantity", true, 0, 0, 1e12)
	unit, errUnit := row.text("unit", false)
	if err := firstError(errBuilding, errFuel, errQuantity, errUnit); err != nil {
		return Activity{}, err
	}
	emission, err := env.fuelEmission(fuel, quantity)
	if err != nil {
		return Activity{}, err
	}
	if unit != "" && !strings.EqualFold(strings.TrimSuffix(unit, "s"), emission.QuantityUnit) {
		return Activity{}, &FieldError{"unit", fmt.Sprintf("%s is counted in %s, not %s: convert the quantity", fuel, emission.QuantityUnit, unit)}
	}
	return Activity{
		Inputs:    []Input{{"building", building}, {"fuel", fuel}, {"quantity", quantity}, {"unit", emission.QuantityUnit}},
		Emissions: []Emission{emission},
	}, nil
}

func computeRooms(row Row, env Env) (Activity, error) {
	room, errRoom := row.text("room", true)
	roomType, errType := row.choice("room_type", "other", "office", "laboratory", "storage", "other")
	area, errArea := row.number("area_m2", true, 0, 0, 1_000_000)
	intensity, errIntensity := row.number("kwh_per_m2", true, 0, 0, 10_000)
	energy, errEnergy := row.choice("energy", "electricity", "electricity", "natural_gas", "district_heating")
	if err := firstError(errRoom, errType, errArea, errIntensity, errEnergy); err != nil {
		return Activity{}, err
	}
	kWh := area * intensity
	inputs := []Input{{"room", room}, {"room_type", roomType}, {"area_m2", area}, {"kwh_per_m2", intensity},
		{"energy", energy}, {"kwh_per_year", kWh}}
	if energy == "electricity" {
		emissions, err := env.labElectricity(kWh)
		return Activity{Inputs: append(inputs, Input{"factor_region", env.LabCountry}), Emissions: emissions}, err
	}
	emission, err := env.fuelEmission(energy, kWh)
	if err != nil {
		return Activity{}, err
	}
	emission.EmissionType = "heating"
	if emission.QuantityUnit != "kWh" {
		return Activity{}, &FieldError{"energy", fmt.Sprintf("the %s factor is per %s, not per kWh", energy, emission.QuantityUnit)}
	}
	return Activity{Inputs: inputs, Emissions: []Emission{emission}}, nil
}
