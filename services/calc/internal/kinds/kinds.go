// Package kinds is what a kind of activity data is made of: its module,
// its CSV columns and an example row, how a row's values are read and
// checked, the factors and contract it is computed against, and the
// emissions it yields. The kinds themselves are in package catalog.
package kinds

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
)

// Column types.
const (
	TypeText    = "text"
	TypeNumber  = "number"
	TypeInteger = "integer"
	TypeBoolean = "boolean"
)

// Column is one column of a kind's CSV.
type Column struct {
	Name        string
	Type        string
	Unit        string
	Required    bool
	Description string
}

// Kind is one kind of activity data.
type Kind struct {
	Name        string
	Module      string
	Description string
	Columns     []Column
	// Derived are figures the formula works out and records with the
	// inputs (a flight's distance, a device's kWh): scenario rules may
	// select rows by them, as by a column.
	Derived []Column
	// Example is one realistic row, in column order, that imports cleanly.
	Example []string
	// NoOverride: the kind's figures cannot be overridden (measures).
	NoOverride bool
	// LabElectricity: the kind's figures use the lab's own electricity
	// supply, so its declared contract (market-based scope 2).
	LabElectricity bool
	// Formula turns a row's values into inputs and emissions.
	Formula func(row Row, env Env) (Activity, error)
}

// OverrideColumn is the optional column every kind but measures takes: a
// known kg CO2e for the row, kept instead of the computed figure and
// flagged as an override.
const OverrideColumn = "kg_co2e"

// Env is what a row is computed against.
type Env struct {
	Year       int32
	LabCountry string
	Factors    *factors.Set
	// Contract is the lab's declared electricity supply for the year
	// (market-based scope 2), nil when it declared none.
	Contract *Contract
	memo     map[factors.Key]memoized
}

type memoized struct {
	factor          factors.Factor
	fallback, found bool
}

// Memoized returns env remembering its factor lookups: for a million rows
// of one job, on one goroutine.
func (env Env) Memoized() Env {
	env.memo = map[factors.Key]memoized{}
	return env
}

// Contract is a lab's declared electricity supplier or contract factor.
type Contract struct {
	Supplier string
	// KgPerKWh is the supplier's or contract's kg CO2e per kWh.
	KgPerKWh       float64
	UncertaintyPct float64
	Source         string
}

// Input is one value of an activity as recorded for audit.
type Input struct {
	Name  string
	Value any
}

// Activity is a row understood: its inputs and what it emits.
type Activity struct {
	Inputs    []Input
	Emissions []Emission
}

// Emission is what an activity emits of one type. Variant "" is the figure
// reported in totals; other variants stand beside it.
type Emission struct {
	Variant      string
	EmissionType string
	Scope        int16
	Quantity     float64
	QuantityUnit string
	KgCO2e       float64
	Factor       factors.Factor
	// Overridden: KgCO2e was given with the data, not computed.
	Overridden bool
	// Fallback: Factor stands in for the one asked for (another year,
	// region or classification, as the kind documents).
	Fallback bool
}

// FieldError says what is wrong with one column of a row.
type FieldError struct {
	Column  string
	Message string
}

func (e *FieldError) Error() string { return e.Column + ": " + e.Message }

// MissingFactorError is a factor the dataset lacks: no row of the job can
// be computed, which is the job's error rather than the rows'.
type MissingFactorError struct {
	Key  factors.Key
	Year int32
}

func (e *MissingFactorError) Error() string {
	return fmt.Sprintf("the factor dataset has no %s factor (%s) for region %q", e.Key.EmissionType, e.Key.Classification, e.Key.Region)
}

// Column returns the column named name.
func (k *Kind) Column(name string) (Column, bool) {
	for _, column := range k.Columns {
		if column.Name == name {
			return column, true
		}
	}
	return Column{}, false
}

// Figure returns the column or derived figure named name.
func (k *Kind) Figure(name string) (Column, bool) {
	if column, ok := k.Column(name); ok {
		return column, true
	}
	for _, column := range k.Derived {
		if column.Name == name {
			return column, true
		}
	}
	return Column{}, false
}

// Required lists the names of the required columns.
func (k *Kind) Required() []string {
	var names []string
	for _, column := range k.Columns {
		if column.Required {
			names = append(names, column.Name)
		}
	}
	return names
}

// CSV is the kind's template: the header and the example row.
func (k *Kind) CSV() string {
	names := make([]string, len(k.Columns))
	for i, column := range k.Columns {
		names[i] = column.Name
	}
	// Like every CSV the system writes: no cell a spreadsheet would run.
	var out strings.Builder
	w := csvout.NewWriter(&out)
	_ = w.Write(names...)
	_ = w.Write(k.Example...)
	_ = w.Flush() // a strings.Builder does not fail
	return out.String()
}

// Compute turns a row into an activity, or says what is wrong with it: a
// *FieldError, or a *MissingFactorError.
func (k *Kind) Compute(row Row, env Env) (Activity, error) {
	if k.NoOverride && row[OverrideColumn] != "" {
		return Activity{}, &FieldError{OverrideColumn, "a " + k.Name + " row has no emissions to override"}
	}
	override, err := row.Number(OverrideColumn, false, -1, 0, 1e12)
	if err != nil {
		return Activity{}, err
	}
	activity, err := k.Formula(row, env)
	if err != nil || override < 0 {
		return activity, err
	}
	return overridden(activity, override), nil
}

// overridden keeps a given figure instead of the computed one: each
// variant's emissions are scaled to add up to it (all of it on the first
// when they add up to nothing), without a factor, flagged.
func overridden(activity Activity, kg float64) Activity {
	computed := map[string]float64{}
	for _, e := range activity.Emissions {
		computed[e.Variant] += e.KgCO2e
	}
	first := map[string]bool{}
	for i := range activity.Emissions {
		e := &activity.Emissions[i]
		switch total := computed[e.Variant]; {
		case total > 0:
			e.KgCO2e = kg * e.KgCO2e / total
		case !first[e.Variant]:
			e.KgCO2e = kg
		default:
			e.KgCO2e = 0
		}
		first[e.Variant] = true
		e.Factor = factors.Factor{}
		e.Overridden, e.Fallback = true, false
	}
	activity.Inputs = append(activity.Inputs, Input{OverrideColumn, kg}, Input{"computed_kg_co2e", computed[""]})
	return activity
}

// Factor looks key up for the year; fallback when the factor is of another
// year than the one asked for.
func (env Env) Factor(key factors.Key) (factors.Factor, bool, error) {
	factor, fallback, ok := env.Lookup(key)
	if !ok {
		return factors.Factor{}, false, &MissingFactorError{Key: key, Year: env.Year}
	}
	return factor, fallback, nil
}

func (env Env) Lookup(key factors.Key) (factors.Factor, bool, bool) {
	if known, ok := env.memo[key]; ok {
		return known.factor, known.fallback, known.found
	}
	factor, found := env.Factors.Lookup(key, env.Year)
	fallback := found && factor.Year != env.Year
	if env.memo != nil {
		env.memo[key] = memoized{factor, fallback, found}
	}
	return factor, fallback, found
}

// Electricity emission variants: location-based (the grid average) is the
// figure in totals; market-based stands beside it.
const VariantMarketBased = "market_based"

// LabElectricity is what kWh of the lab's own supply emit (scope 2).
func (env Env) LabElectricity(kWh float64) ([]Emission, error) {
	return env.Electricity(kWh, env.LabCountry, env.Contract)
}

// Electricity is what kWh of electricity in country emit, both ways (scope
// 2): location-based with the country's grid factor; market-based with the
// contract (the lab's declared one, for its own supply), else the
// country's residual mix, else the grid factor again, flagged as a
// fallback.
func (env Env) Electricity(kWh float64, country string, contract *Contract) ([]Emission, error) {
	grid := factors.Key{Kind: "electricity", EmissionType: "electricity_grid", Classification: "location", Region: country}
	location, fallback, err := env.Factor(grid)
	if err != nil {
		return nil, err
	}
	emissions := make([]Emission, 1, 2)
	emissions[0] = Emission{
		EmissionType: "electricity", Scope: 2, Quantity: kWh, QuantityUnit: "kWh",
		KgCO2e: kWh * location.Value, Factor: location, Fallback: fallback,
	}
	market := emissions[0]
	market.Variant = VariantMarketBased
	switch residual, residualFallback, found := env.Lookup(factors.Key{Kind: "electricity", EmissionType: "electricity_grid", Classification: "residual_mix", Region: country}); {
	case contract != nil:
		market.Factor = factors.Factor{Dataset: "lab_contract", Version: fmt.Sprint(env.Year), Kind: "electricity",
			EmissionType: "electricity_contract", Region: country, Year: env.Year, Value: contract.KgPerKWh, Unit: "kWh",
			Source: contract.Source, UncertaintyPct: contract.UncertaintyPct}
		market.KgCO2e, market.Fallback = kWh*contract.KgPerKWh, false
	case found:
		market.Factor = residual
		market.KgCO2e, market.Fallback = kWh*residual.Value, residualFallback
	default:
		market.Fallback = true
	}
	return append(emissions, market), nil
}

// Row is a row's values by column name.
type Row map[string]string

// NewRow pairs a header with a record's fields.
func NewRow(columns, fields []string) Row {
	return make(Row, len(columns)).Fill(columns, fields)
}

// Fill reuses row for the next record (the column names lower-cased
// already, as Lower returns them).
func (r Row) Fill(lowerColumns, fields []string) Row {
	clear(r)
	for i, column := range lowerColumns {
		if i < len(fields) {
			r[column] = strings.TrimSpace(fields[i])
		}
	}
	return r
}

// Lower returns the column names lower-cased, for Fill.
func Lower(columns []string) []string {
	lower := make([]string, len(columns))
	for i, column := range columns {
		lower[i] = strings.ToLower(column)
	}
	return lower
}

func (r Row) Text(column string, required bool) (string, error) {
	value := r[column]
	if value == "" && required {
		return "", &FieldError{column, "required"}
	}
	return value, nil
}

// Number reads a decimal number; a comma is read as the decimal point when
// there is no dot (spreadsheets in many locales write 1,5).
func (r Row) Number(column string, required bool, fallback, lowest, highest float64) (float64, error) {
	value := r[column]
	if value == "" {
		if required {
			return 0, &FieldError{column, "required"}
		}
		return fallback, nil
	}
	if !strings.Contains(value, ".") {
		value = strings.Replace(value, ",", ".", 1)
	}
	number, err := strconv.ParseFloat(value, 64)
	if err != nil || number != number { // NaN
		return 0, &FieldError{column, fmt.Sprintf("%q is not a number", r[column])}
	}
	if number < lowest || number > highest {
		return 0, &FieldError{column, fmt.Sprintf("%s is out of range: from %g to %g", r[column], lowest, highest)}
	}
	return number, nil
}

func (r Row) Integer(column string, fallback, lowest, highest int64) (int64, error) {
	value := r[column]
	if value == "" {
		return fallback, nil
	}
	number, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, &FieldError{column, fmt.Sprintf("%q is not a whole number", value)}
	}
	if number < lowest || number > highest {
		return 0, &FieldError{column, fmt.Sprintf("%d is out of range: from %d to %d", number, lowest, highest)}
	}
	return number, nil
}

func (r Row) Boolean(column string, fallback bool) (bool, error) {
	switch strings.ToLower(r[column]) {
	case "":
		return fallback, nil
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0":
		return false, nil
	default:
		return false, &FieldError{column, fmt.Sprintf("%q is not yes or no", r[column])}
	}
}

func (r Row) Choice(column string, fallback string, choices ...string) (string, error) {
	value := strings.ToLower(r[column])
	if value == "" {
		if fallback == "" {
			return "", &FieldError{column, "required: one of " + strings.Join(choices, ", ")}
		}
		return fallback, nil
	}
	for _, choice := range choices {
		if value == choice {
			return value, nil
		}
	}
	return "", &FieldError{column, fmt.Sprintf("%q is not one of %s", r[column], strings.Join(choices, ", "))}
}

// Country reads an ISO 3166-1 alpha-2 country code (any case), fallback
// when empty.
func (r Row) Country(column, fallback string) (string, error) {
	value := strings.ToUpper(r[column])
	if value == "" {
		return fallback, nil
	}
	region, err := language.ParseRegion(value)
	if err != nil || len(value) != 2 || !region.IsCountry() || region.String() != value {
		return "", &FieldError{column, fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (such as CH, FR or DE)", r[column])}
	}
	return value, nil
}

// regionsNamed bounds the regions a message names (the bundled grid
// factors cover some two hundred countries).
const regionsNamed = 12

// RegionList names regions, sorted: the first twelve and how many more.
func RegionList(regions []string) string {
	regions = slices.Sorted(slices.Values(regions))
	if len(regions) > regionsNamed {
		regions = append(regions[:regionsNamed:regionsNamed], fmt.Sprintf("%d more", len(regions)-regionsNamed))
	}
	return strings.Join(regions, ", ")
}

// FirstError returns the first non-nil error.
func FirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
