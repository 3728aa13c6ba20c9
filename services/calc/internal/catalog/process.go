package catalog

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

func init() {
	register(&kinds.Kind{
		Name:        "process_emissions",
		Module:      "process_emissions",
		Description: "Gases released by the lab's processes or lost from its equipment (refrigerant leaks, fume-hood releases, gas bottles): kilograms of gas times its global warming potential over 100 years (scope 1).",
		Columns: []kinds.Column{
			{Name: "source", Type: kinds.TypeText, Description: "Where the gas came from (optional)"},
			{Name: "gas", Type: kinds.TypeText, Required: true, Description: "co2, ch4, n2o, sf6, nf3, hfc-134a, hfc-32, hfc-125, hfc-143a, cf4, c2f6, r-404a, r-410a or r-407c"},
			{Name: "quantity_kg", Type: kinds.TypeNumber, Unit: "kg", Required: true, Description: "Kilograms of gas released (for a leak: the refill quantity)"},
		},
		Example: []string{"Cold room refrigeration unit, refill", "r-410a", "2.5"},
		Formula: computeProcess,
	})
}

func computeProcess(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	source, errSource := row.Text("source", false)
	gas, errGas := row.Text("gas", true)
	kg, errKg := row.Number("quantity_kg", true, 0, 0, 1e9)
	if err := kinds.FirstError(errSource, errGas, errKg); err != nil {
		return kinds.Activity{}, err
	}
	gas = strings.ToLower(gas)
	key := factors.Key{Kind: "process", EmissionType: "gwp100", Classification: gas}
	factor, fallback, err := env.Factor(key)
	if err != nil {
		return kinds.Activity{}, &kinds.FieldError{Column: "gas", Message: fmt.Sprintf("%q is not a gas with a GWP in the factor dataset: %s", row["gas"], strings.Join(env.Factors.Classifications(key), ", "))}
	}
	return kinds.Activity{
		Inputs: []kinds.Input{{Name: "source", Value: source}, {Name: "gas", Value: gas}, {Name: "quantity_kg", Value: kg}, {Name: "gwp100", Value: factor.Value}},
		Emissions: []kinds.Emission{{EmissionType: "process_gas", Scope: 1, Quantity: kg, QuantityUnit: "kg",
			KgCO2e: kg * factor.Value, Factor: factor, Fallback: fallback}},
	}, nil
}
