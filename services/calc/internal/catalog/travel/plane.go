// Package travel is the professional travel module's kinds (plane, train,
// car, bus, coach, tram, ferry, taxi), the airport table the distances of
// planes and trains come from, and the per-km emissions commuting shares.
package travel

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Flight conventions (GES 1point5, EPFL): the distance flown is the
// great-circle distance plus 95 km; the haul band follows the UK government
// (BEIS) bands: domestic when both airports are in one country, short-haul
// up to 3700 km, long-haul beyond.
const (
	detourKm         = 95
	shortHaulLimit   = 3700
	earthRadiusKm    = 6371.0
	haulDomestic     = "domestic"
	haulShort        = "short_haul"
	haulLong         = "long_haul"
	cabinEconomy     = "economy"
	cabinPremium     = "premium_economy"
	cabinBusiness    = "business"
	cabinFirst       = "first"
	variantWithoutRF = "without_rf"
)

// cabinMultipliers scale the economy factor by cabin class, as the ratios of
// the BEIS 2021 class factors to economy: short-haul business 1.5,
// long-haul premium economy 1.6, business 2.9, first 4.0. BEIS gives no
// class factors for domestic flights, nor premium or first on short-haul
// (taken as economy and business).
var cabinMultipliers = map[string]map[string]float64{
	haulDomestic: {cabinEconomy: 1, cabinPremium: 1, cabinBusiness: 1, cabinFirst: 1},
	haulShort:    {cabinEconomy: 1, cabinPremium: 1, cabinBusiness: 1.5, cabinFirst: 1.5},
	haulLong:     {cabinEconomy: 1, cabinPremium: 1.6, cabinBusiness: 2.9, cabinFirst: 4.0},
}

// Plane is the travel module's plane kind.
var Plane = &kinds.Kind{
	Name:        "plane",
	Module:      "professional_travel",
	Description: "Flights: great-circle distance between the airports plus 95 km, times trips (twice for a round trip), times the BEIS factor of the haul band and cabin class, with radiative forcing (and without, alongside).",
	Columns: []kinds.Column{
		{Name: "departure", Type: kinds.TypeText, Required: true, Description: "IATA code of the departure airport, e.g. GVA"},
		{Name: "arrival", Type: kinds.TypeText, Required: true, Description: "IATA code of the arrival airport, e.g. LHR"},
		{Name: "trips", Type: kinds.TypeInteger, Description: "How many times the flight was taken (default 1)"},
		{Name: "cabin_class", Type: kinds.TypeText, Description: "economy (default), premium_economy, business or first"},
		{Name: "round_trip", Type: kinds.TypeBoolean, Description: "yes when each trip also flew back (default no)"},
	},
	Derived: []kinds.Column{
		{Name: "great_circle_km", Type: kinds.TypeNumber, Unit: "km", Description: "The great-circle distance between the airports"},
		{Name: "distance_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance flown one way: the great circle plus 95 km"},
		{Name: "haul", Type: kinds.TypeText, Description: "domestic, short_haul or long_haul"},
		{Name: "passenger_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance flown in all: trips, both ways for a round trip"},
	},
	Example: []string{"GVA", "LHR", "2", "economy", "yes"},
	Formula: computePlane,
}

func computePlane(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	departure, errDeparture := airportOf(row, "departure")
	arrival, errArrival := airportOf(row, "arrival")
	trips, errTrips := row.Integer("trips", 1, 1, 100_000)
	cabin, errCabin := row.Choice("cabin_class", cabinEconomy, cabinEconomy, cabinPremium, cabinBusiness, cabinFirst)
	roundTrip, errRoundTrip := row.Boolean("round_trip", false)
	if err := kinds.FirstError(errDeparture, errArrival, errTrips, errCabin, errRoundTrip); err != nil {
		return kinds.Activity{}, err
	}
	if departure.code == arrival.code {
		return kinds.Activity{}, &kinds.FieldError{Column: "arrival", Message: "the same airport as the departure"}
	}
	greatCircle := greatCircleKm(departure, arrival)
	distance := greatCircle + detourKm
	haul := haulShort
	switch {
	case departure.country == arrival.country:
		haul = haulDomestic
	case distance > shortHaulLimit:
		haul = haulLong
	}
	legs := trips
	if roundTrip {
		legs *= 2
	}
	passengerKm := distance * float64(legs)
	multiplier := cabinMultipliers[haul][cabin]

	activity := kinds.Activity{Inputs: []kinds.Input{
		{Name: "departure", Value: departure.code}, {Name: "arrival", Value: arrival.code}, {Name: "trips", Value: trips}, {Name: "cabin_class", Value: cabin},
		{Name: "round_trip", Value: roundTrip}, {Name: "great_circle_km", Value: greatCircle}, {Name: "distance_km", Value: distance},
		{Name: "haul", Value: haul}, {Name: "cabin_multiplier", Value: multiplier}, {Name: "passenger_km", Value: passengerKm},
	}}
	for _, variant := range []struct{ name, emissionType string }{{"", "flight"}, {variantWithoutRF, "flight_without_rf"}} {
		key := factors.Key{Kind: "plane", EmissionType: variant.emissionType, Classification: haul}
		factor, fallback, err := env.Factor(key)
		if err != nil {
			return kinds.Activity{}, err
		}
		activity.Emissions = append(activity.Emissions, kinds.Emission{
			Variant: variant.name, EmissionType: "plane", Scope: 3, Quantity: passengerKm, QuantityUnit: "passenger-km",
			KgCO2e: passengerKm * factor.Value * multiplier, Factor: factor, Fallback: fallback,
		})
	}
	return activity, nil
}

type airport struct {
	code, name, country string
	lat, lon            float64
}

//go:embed airports.csv
var airportsCSV []byte

// airports is OurAirports' list of medium and large airports with an IATA
// code (public domain; tools/airports/fetch.sh rebuilds the file).
var airports = loadAirports()

func loadAirports() map[string]airport {
	records, err := csv.NewReader(bytes.NewReader(airportsCSV)).ReadAll()
	if err != nil {
		panic(fmt.Sprintf("airports.csv: %v", err)) // an embedded file: fails in every test if broken
	}
	table := make(map[string]airport, len(records))
	for _, record := range records[1:] {
		lat, _ := strconv.ParseFloat(record[3], 64)
		lon, _ := strconv.ParseFloat(record[4], 64)
		table[record[0]] = airport{code: record[0], name: record[1], country: record[2], lat: lat, lon: lon}
	}
	return table
}

func airportOf(row kinds.Row, column string) (airport, error) {
	code := strings.ToUpper(row[column])
	if code == "" {
		return airport{}, &kinds.FieldError{Column: column, Message: "required: an IATA airport code such as GVA"}
	}
	found, ok := airports[code]
	if !ok {
		return airport{}, &kinds.FieldError{Column: column, Message: fmt.Sprintf("%q is not a known IATA airport code", row[column])}
	}
	return found, nil
}

// GreatCircleKm is the great-circle distance between two airports named by
// their IATA codes.
func GreatCircleKm(from, to string) (float64, error) {
	a, ok := airports[from]
	if !ok {
		return 0, fmt.Errorf("no airport %s", from)
	}
	b, ok := airports[to]
	if !ok {
		return 0, fmt.Errorf("no airport %s", to)
	}
	return greatCircleKm(a, b), nil
}

// greatCircleKm is the haversine distance between two airports.
func greatCircleKm(a, b airport) float64 {
	toRadians := math.Pi / 180
	dLat := (b.lat - a.lat) * toRadians
	dLon := (b.lon - a.lon) * toRadians
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.lat*toRadians)*math.Cos(b.lat*toRadians)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}
