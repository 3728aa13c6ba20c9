package kinds

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

func init() {
	register(&Kind{
		Name:        "process_emissions",
		Module:      "process_emissions",
		Description: "Gases released by the lab's processes or lost from its equipment (refrigerant leaks, fume-hood releases, gas bottles): kilograms of gas times its global warming potential over 100 years (scope 1).",
		Columns: []Column{
			{Name: "source", Type: TypeText, Description: "Where the gas came from (optional)"},
			{Name: "gas", Type: TypeText, Required: true, Description: "co2, ch4, n2o, sf6, nf3, hfc-134a, hfc-32, hfc-125, hfc-143a, cf4, c2f6, r-404a, r-410a or r-407c"},
			{Name: "quantity_kg", Type: TypeNumber, Unit: "kg", Required: true, Description: "Kilograms of gas released (for a leak: the refill quantity)"},
		},
		Example: []string{"Cold room refrigeration unit, refill", "r-410a", "2.5"},
		compute: computeProcess,
	})
}

func computeProcess(row Row, env Env) (Activity, error) {
	source, errSource := row.text("source", false)
	gas, errGas := row.text("gas", true)
	kg, errKg := row.number("quantity_kg", true, 0, 0, 1e9)
	if err := firstError(errSource, errGas, errKg); err != nil {
		return Activity{}, err
	}
	gas = strings.ToLower(gas)
	key := factors.Key{Kind: "process", EmissionType: "gwp100", Classification: gas}
	factor, fallback, err := env.factor(key)
	if err != nil {
		return Activity{}, &FieldError{"gas", fmt.Sprintf("%q is not a gas with a GWP in the factor dataset: %s", row["gas"], strings.Join(env.Factors.Classifications(key), ", "))}
	}
	return Activity{
		Inputs: []Input{{"source", source}, {"gas", gas}, {"quantity_kg", kg}, {"gwp100", factor.Value}},
		Emissions: []Emission{{EmissionType: "process_gas", Scope: 1, Quantity: kg, QuantityUnit: "kg",
			KgCO2e: kg * factor.Value, Factor: factor, Fallback: fallback}},
	}, nil
}
