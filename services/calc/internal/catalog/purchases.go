package catalog

import (
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Purchases are counted by spend: the amount is converted to the currency
// and base year of the category's factor (the US EPA supply-chain factors:
// US dollars of 2022) with the bundled rate table (factors.DefaultMoney),
// then multiplied by the factor (kg CO2e per unit, purchaser price). The
// factor's year is its base year, not a stand-in for the reporting year:
// a fallback is only a rate or price index of another year.
func init() {
	register(&kinds.Kind{
		Name:        "purchases",
		Module:      "purchases",
		Description: "Goods and services bought, by spend: the amount converted to the factor's currency and base year, times the category's spend-based factor (scope 3).",
		Columns: []kinds.Column{
			{Name: "description", Type: kinds.TypeText, Description: "What was bought (optional)"},
			{Name: "category", Type: kinds.TypeText, Required: true, Description: "The NAICS 2017 six-digit code of what was bought, e.g. 334516 (analytical laboratory instruments); GET /api/v1/factors?kind=purchases lists them"},
			{Name: "amount", Type: kinds.TypeNumber, Required: true, Description: "The amount spent, excluding VAT"},
			{Name: "currency", Type: kinds.TypeText, Required: true, Description: "ISO 4217 code: CHF, EUR, GBP or USD"},
			{Name: "supplier", Type: kinds.TypeText, Description: "Who sold it (optional)"},
		},
		Example: []string{"Mass spectrometer service kit", "334516", "12500", "CHF", "Example Instruments SA"},
		Formula: computePurchases,
	})
}

func computePurchases(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	description, errDescription := row.Text("description", false)
	category, errCategory := row.Text("category", true)
	amount, errAmount := row.Number("amount", true, 0, 0, 1e12)
	currency, errCurrency := row.Text("currency", true)
	supplier, errSupplier := row.Text("supplier", false)
	if err := kinds.FirstError(errDescription, errCategory, errAmount, errCurrency, errSupplier); err != nil {
		return kinds.Activity{}, err
	}
	currency = strings.ToUpper(currency)
	key := factors.Key{Kind: "purchases", EmissionType: "spend", Classification: category, Region: "US"}
	factor, _, err := env.Factor(key)
	if err != nil {
		return kinds.Activity{}, &kinds.FieldError{Column: "category", Message: fmt.Sprintf("%q is not a category with a spend factor: give a NAICS six-digit code listed by GET /api/v1/factors?kind=purchases", category)}
	}
	spend, err := spendEmission(env, amount, currency, factor)
	if err != nil {
		return kinds.Activity{}, &kinds.FieldError{Column: "currency", Message: err.Error()}
	}
	spend.emission.EmissionType = "purchased_goods"
	return kinds.Activity{
		Inputs: append([]kinds.Input{{Name: "description", Value: description}, {Name: "category", Value: category}, {Name: "amount", Value: amount},
			{Name: "currency", Value: currency}, {Name: "supplier", Value: supplier}}, spend.inputs...),
		Emissions: []kinds.Emission{spend.emission},
	}, nil
}

type spent struct {
	emission kinds.Emission
	inputs   []kinds.Input
}

// spendEmission converts amount to the factor's currency (its unit) and base
// year (its year) and applies it (scope 3).
func spendEmission(env kinds.Env, amount float64, currency string, factor factors.Factor) (spent, error) {
	conversion, err := factors.DefaultMoney.Convert(amount, currency, env.Year, factor.Unit, factor.Year)
	if err != nil {
		return spent{}, err
	}
	return spent{
		emission: kinds.Emission{Scope: 3, Quantity: conversion.Value, QuantityUnit: fmt.Sprintf("%s %d", factor.Unit, factor.Year),
			KgCO2e: conversion.Value * factor.Value, Factor: factor, Fallback: conversion.Fallback},
		inputs: []kinds.Input{{Name: "converted_amount", Value: conversion.Value}, {Name: "converted_currency", Value: factor.Unit},
			{Name: "converted_base_year", Value: factor.Year}, {Name: "rate_year", Value: conversion.RateYear}, {Name: "price_index_year", Value: conversion.IndexYear},
			{Name: "rates_version", Value: factors.MoneyVersion}},
	}, nil
}
