package kinds

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// Purchases are counted by spend: the amount is converted to the currency
// and base year of the category's factor (the US EPA supply-chain factors:
// US dollars of 2022) with the bundled rate table (factors.DefaultMoney),
// then multiplied by the factor (kg CO2e per unit, purchaser price). The
// factor's year is its base year, not a stand-in for the reporting year:
// a fallback is only a rate or price index of another year.
func init() {
	register(&Kind{
		Name:        "purchases",
		Module:      "purchases",
		Description: "Goods and services bought, by spend: the amount converted to the factor's currency and base year, times the category's spend-based factor (scope 3).",
		Columns: []Column{
			{Name: "description", Type: TypeText, Description: "What was bought (optional)"},
			{Name: "category", Type: TypeText, Required: true, Description: "The NAICS 2017 six-digit code of what was bought, e.g. 334516 (analytical laboratory instruments); GET /api/v1/factors?kind=purchases lists them"},
			{Name: "amount", Type: TypeNumber, Required: true, Description: "The amount spent, excluding VAT"},
			{Name: "currency", Type: TypeText, Required: true, Description: "ISO 4217 code: CHF, EUR, GBP or USD"},
			{Name: "supplier", Type: TypeText, Description: "Who sold it (optional)"},
		},
		Example: []string{"Mass spectrometer service kit", "334516", "12500", "CHF", "Example Instruments SA"},
		compute: computePurchases,
	})
}

func computePurchases(row Row, env Env) (Activity, error) {
	description, errDescription := row.text("description", false)
	category, errCategory := row.text("category", true)
	amount, errAmount := row.number("amount", true, 0, 0, 1e12)
	currency, errCurrency := row.text("currency", true)
	supplier, errSupplier := row.text("supplier", false)
	if err := firstError(errDescription, errCategory, errAmount, errCurrency, errSupplier); err != nil {
		return Activity{}, err
	}
	currency = strings.ToUpper(currency)
	key := factors.Key{Kind: "purchases", EmissionType: "spend", Classification: category, Region: "US"}
	factor, _, err := env.factor(key)
	if err != nil {
		return Activity{}, &FieldError{"category", fmt.Sprintf("%q is not a category with a spend factor: give a NAICS six-digit code listed by GET /api/v1/factors?kind=purchases", category)}
	}
	spend, err := spendEmission(env, amount, currency, factor)
	if err != nil {
		return Activity{}, &FieldError{"currency", err.Error()}
	}
	spend.emission.EmissionType = "purchased_goods"
	return Activity{
		Inputs: append([]Input{{"description", description}, {"category", category}, {"amount", amount},
			{"currency", currency}, {"supplier", supplier}}, spend.inputs...),
		Emissions: []Emission{spend.emission},
	}, nil
}

type spent struct {
	emission Emission
	inputs   []Input
}

// spendEmission converts amount to the factor's currency (its unit) and base
// year (its year) and applies it (scope 3).
func spendEmission(env Env, amount float64, currency string, factor factors.Factor) (spent, error) {
	conversion, err := factors.DefaultMoney.Convert(amount, currency, env.Year, factor.Unit, factor.Year)
	if err != nil {
		return spent{}, err
	}
	return spent{
		emission: Emission{Scope: 3, Quantity: conversion.Value, QuantityUnit: fmt.Sprintf("%s %d", factor.Unit, factor.Year),
			KgCO2e: conversion.Value * factor.Value, Factor: factor, Fallback: conversion.Fallback},
		inputs: []Input{{"converted_amount", conversion.Value}, {"converted_currency", factor.Unit},
			{"converted_base_year", factor.Year}, {"rate_year", conversion.RateYear}, {"price_index_year", conversion.IndexYear},
			{"rates_version", factors.MoneyVersion}},
	}, nil
}
