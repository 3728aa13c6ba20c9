package catalog

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Fuels burnt in the lab's buildings (scope 1) and heat bought from a
// district network (scope 2), each with its factor's unit.
var fuels = []string{"natural_gas", "heating_oil", "gas_oil", "lpg", "wood_pellets", "wood_chips", "district_heating"}

func init() {
	register(&kinds.Kind{
		Name:        "energy_combustion",
		Module:      "buildings",
		Description: "Fuel burnt for the lab's buildings (scope 1), or district heat bought (scope 2): quantity times the fuel's factor.",
		Columns: []kinds.Column{
			{Name: "building", Type: kinds.TypeText, Description: "Which building or boiler (optional)"},
			{Name: "fuel", Type: kinds.TypeText, Required: true, Description: strings.Join(fuels, ", ")},
			{Name: "quantity", Type: kinds.TypeNumber, Required: true, Description: "How much, in the fuel's unit: kWh (gross calorific value) for natural_gas, wood_pellets, wood_chips and district_heating; litres for heating_oil, gas_oil and lpg"},
			{Name: "unit", Type: kinds.TypeText, Description: "The unit of quantity, checked against the fuel's (optional): kWh or litre"},
		},
		Example: []string{"Main building boiler", "natural_gas", "120000", "kWh"},
		Formula: computeCombustion,
	})
	register(&kinds.Kind{
		Name:           "rooms",
		LabElectricity: true,
		Module:         "buildings",
		Description:    "The energy of the rooms the lab occupies: floor area times the room's yearly energy use per m², times the factor of the energy (electricity both ways, heat).",
		Columns: []kinds.Column{
			{Name: "room", Type: kinds.TypeText, Required: true, Description: "The room, e.g. its number"},
			{Name: "room_type", Type: kinds.TypeText, Description: "office, laboratory, storage or other (default other)"},
			{Name: "area_m2", Type: kinds.TypeNumber, Unit: "m²", Required: true, Description: "Floor area the lab uses"},
			{Name: "kwh_per_m2", Type: kinds.TypeNumber, Unit: "kWh/m²/year", Required: true, Description: "The room's yearly energy use per m² (from the building's meters or its energy certificate)"},
			{Name: "energy", Type: kinds.TypeText, Description: "electricity (default), natural_gas or district_heating"},
		},
		Derived: []kinds.Column{{Name: "kwh_per_year", Type: kinds.TypeNumber, Unit: "kWh", Description: "The room's energy in a year: area times kWh per m²"}},
		Example: []string{"BC 410", "laboratory", "45", "310", "electricity"},
		Formula: computeRooms,
	})
}

// fuelEmission is what quantity of fuel emits: scope 1 burnt on site,
// scope 2 for district heat.
func fuelEmission(env kinds.Env, fuel string, quantity float64) (kinds.Emission, error) {
	factor, fallback, err := env.Factor(factors.Key{Kind: "fuel", EmissionType: "combustion", Classification: fuel})
	if err != nil {
		return kinds.Emission{}, err
	}
	emission := kinds.Emission{EmissionType: "energy_combustion", Scope: 1, Quantity: quantity, QuantityUnit: factor.Unit,
		KgCO2e: quantity * factor.Value, Factor: factor, Fallback: fallback}
	if fuel == "district_heating" {
		emission.EmissionType, emission.Scope = "district_heating", 2
	}
	return emission, nil
}

func computeCombustion(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	building, errBuilding := row.Text("building", false)
	fuel, errFuel := row.Choice("fuel", "", fuels...)
	quantity, errQuantity := row.Number("quantity", true, 0, 0, 1e12)
	unit, errUnit := row.Text("unit", false)
	if err := kinds.FirstError(errBuilding, errFuel, errQuantity, errUnit); err != nil {
		return kinds.Activity{}, err
	}
	emission, err := fuelEmission(env, fuel, quantity)
	if err != nil {
		return kinds.Activity{}, err
	}
	if unit != "" && !strings.EqualFold(strings.TrimSuffix(unit, "s"), emission.QuantityUnit) {
		return kinds.Activity{}, &kinds.FieldError{Column: "unit", Message: fmt.Sprintf("%s is counted in %s, not %s: convert the quantity", fuel, emission.QuantityUnit, unit)}
	}
	return kinds.Activity{
		Inputs:    []kinds.Input{{Name: "building", Value: building}, {Name: "fuel", Value: fuel}, {Name: "quantity", Value: quantity}, {Name: "unit", Value: emission.QuantityUnit}},
		Emissions: []kinds.Emission{emission},
	}, nil
}

func computeRooms(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	room, errRoom := row.Text("room", true)
	roomType, errType := row.Choice("room_type", "other", "office", "laboratory", "storage", "other")
	area, errArea := row.Number("area_m2", true, 0, 0, 1_000_000)
	intensity, errIntensity := row.Number("kwh_per_m2", true, 0, 0, 10_000)
	energy, errEnergy := row.Choice("energy", "electricity", "electricity", "natural_gas", "district_heating")
	if err := kinds.FirstError(errRoom, errType, errArea, errIntensity, errEnergy); err != nil {
		return kinds.Activity{}, err
	}
	kWh := area * intensity
	inputs := []kinds.Input{{Name: "room", Value: room}, {Name: "room_type", Value: roomType}, {Name: "area_m2", Value: area}, {Name: "kwh_per_m2", Value: intensity},
		{Name: "energy", Value: energy}, {Name: "kwh_per_year", Value: kWh}}
	if energy == "electricity" {
		emissions, err := env.LabElectricity(kWh)
		return kinds.Activity{Inputs: append(inputs, kinds.Input{Name: "factor_region", Value: env.LabCountry}), Emissions: emissions}, err
	}
	emission, err := fuelEmission(env, energy, kWh)
	if err != nil {
		return kinds.Activity{}, err
	}
	emission.EmissionType = "heating"
	if emission.QuantityUnit != "kWh" {
		return kinds.Activity{}, &kinds.FieldError{Column: "energy", Message: fmt.Sprintf("the %s factor is per %s, not per kWh", energy, emission.QuantityUnit)}
	}
	return kinds.Activity{Inputs: inputs, Emissions: []kinds.Emission{emission}}, nil
}
