package factors

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Spend-based factors are kg CO2e per unit of one currency in one base
// year. Money bundles what converts an amount to that: the ECB's annual
// average euro reference rates, and a price index per currency area to move
// an amount between years (US CPI-U for US dollars). The table is versioned
// like a factor dataset (MoneyVersion).

//go:embed money.csv
var moneyCSV string

// MoneyVersion is the version of the bundled rate table.
const MoneyVersion = "2026.1"

// Money converts amounts between currencies and years.
type Money struct {
	// perEUR[currency][year] is units of currency per euro.
	perEUR map[string]map[int32]float64
	// index[area][year] is the price index of a currency area.
	index map[string]map[int32]float64
}

// DefaultMoney is the bundled table.
var DefaultMoney = mustMoney()

func mustMoney() *Money {
	money, err := parseMoney(moneyCSV)
	if err != nil {
		panic(fmt.Sprintf("money.csv: %v", err)) // an embedded file: fails in every test if broken
	}
	return money
}

func parseMoney(text string) (*Money, error) {
	records, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, err
	}
	money := &Money{perEUR: map[string]map[int32]float64{}, index: map[string]map[int32]float64{}}
	for i, record := range records[1:] {
		year, errYear := strconv.Atoi(record[3])
		value, errValue := strconv.ParseFloat(record[4], 64)
		if errYear != nil || errValue != nil || value <= 0 {
			return nil, fmt.Errorf("line %d: year %q, value %q", i+2, record[3], record[4])
		}
		table := money.perEUR
		if record[0] == "price_index" {
			table = money.index
		}
		if table[record[2]] == nil {
			table[record[2]] = map[int32]float64{}
		}
		table[record[2]][int32(year)] = value
	}
	return money, nil
}

// Currencies lists the currencies the table converts.
func (m *Money) Currencies() []string {
	var all []string
	for currency := range m.perEUR {
		all = append(all, currency)
	}
	return sortedStrings(all)
}

// Conversion is how an amount was converted, for the record.
type Conversion struct {
	// Value is the amount in the target currency and base year.
	Value float64
	// RateYear and IndexYear are the years whose rate and index were used;
	// Fallback when either is not the year asked for.
	RateYear, IndexYear int32
	Fallback            bool
}

// Convert turns amount of currency spent in year into target currency of
// baseYear: at the year's average exchange rate, then by the target area's
// price index from year to baseYear. The nearest year stands in for a year
// the table lacks (flagged as a fallback).
func (m *Money) Convert(amount float64, currency string, year int32, target string, baseYear int32) (Conversion, error) {
	from, ok := m.perEUR[currency]
	if !ok {
		return Conversion{}, fmt.Errorf("%q is not a currency the rate table knows: %s", currency, strings.Join(m.Currencies(), ", "))
	}
	to, ok := m.perEUR[target]
	if !ok {
		return Conversion{}, fmt.Errorf("no exchange rate for the factor's currency %s", target)
	}
	rateYear := nearestYear(from, year)
	if _, ok := to[rateYear]; !ok {
		return Conversion{}, fmt.Errorf("no %s rate for %d", target, rateYear)
	}
	index, ok := m.index[areaOf(target)]
	if !ok {
		return Conversion{}, fmt.Errorf("no price index for %s", target)
	}
	indexYear := nearestYear(index, year)
	base, ok := index[baseYear]
	if !ok {
		return Conversion{}, fmt.Errorf("no %s price index for the factor's base year %d", target, baseYear)
	}
	value := amount / from[rateYear] * to[rateYear] * base / index[indexYear]
	return Conversion{Value: value, RateYear: rateYear, IndexYear: indexYear, Fallback: rateYear != year || indexYear != year}, nil
}

// areaOf is the price-index area of a currency.
func areaOf(currency string) string {
	if currency == "USD" {
		return "US"
	}
	return currency
}

func nearestYear(table map[int32]float64, year int32) int32 {
	best, bestGap := int32(0), int32(-1)
	for candidate := range table {
		gap := candidate - year
		if gap < 0 {
			gap = -gap
		}
		if bestGap < 0 || gap < bestGap || (gap == bestGap && candidate < best) {
			best, bestGap = candidate, gap
		}
	}
	return best
}

func sortedStrings(all []string) []string {
	sort.Strings(all)
	return all
}
