package kinds

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
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

func init() {
	register(&Kind{
		Name:        "plane",
		Module:      "professional_travel",
		Description: "Flights: great-circle distance between the airports plus 95 km, times trips (twice for a round trip), times the BEIS factor of the haul band and cabin class, with radiative forcing (and without, alongside).",
		Columns: []Column{
			{Name: "departure", Type: TypeText, Required: true, Description: "IATA code of the departure airport, e.g. GVA"},
			{Name: "arrival", Type: TypeText, Required: true, Description: "IATA code of the arrival airport, e.g. LHR"},
			{Name: "trips", Type: TypeInteger, Description: "How many times the flight was taken (default 1)"},
			{Name: "cabin_class", Type: TypeText, Description: "economy (default), premium_economy, business or first"},
			{Name: "round_trip", Type: TypeBoolean, Description: "yes when each trip also flew back (default no)"},
		},
		Example: []string{"GVA", "LHR", "2", "economy", "yes"},
		compute: computePlane,
	})
}

func computePlane(row Row, env Env) (Activity, error) {
	departure, errDeparture := airportOf(row, "departure")
	arrival, errArrival := airportOf(row, "arrival")
	trips, errTrips := row.integer("trips", 1, 1, 100_000)
	cabin, errCabin := row.choice("cabin_class", cabinEconomy, cabinEconomy, cabinPremium, cabinBusiness, cabinFirst)
	roundTrip, errRoundTrip := row.boolean("round_trip", false)
	if err := firstError(errDeparture, errArrival, errTrips, errCabin, errRoundTrip); err != nil {
		return Activity{}, err
	}
	if departure.code == arrival.code {
		return Activity{}, &FieldError{"arrival", "the same airport as the departure"}
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

	activity := Activity{Inputs: []Input{
		{"departure", departure.code}, {"arrival", arrival.code}, {"trips", trips}, {"cabin_class", cabin},
		{"round_trip", roundTrip}, {"great_circle_km", greatCircle}, {"distance_km", distance},
		{"haul", haul}, {"cabin_multiplier", multiplier}, {"passenger_km", passengerKm},
	}}
	for _, variant := range []struct{ name, emissionType string }{{"", "flight"}, {variantWithoutRF, "flight_without_rf"}} {
		key := factors.Key{Kind: "plane", EmissionType: variant.emissionType, Classification: haul}
		factor, fallback, err := env.factor(key)
		if err != nil {
			return Activity{}, err
		}
		activity.Emissions = append(activity.Emissions, Emission{
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

func airportOf(row Row, column string) (airport, error) {
	code := strings.ToUpper(row[column])
	if code == "" {
		return airport{}, &FieldError{column, "required: an IATA airport code such as GVA"}
	}
	found, ok := airports[code]
	if !ok {
		return airport{}, &FieldError{column, fmt.Sprintf("%q is not a known IATA airport code", row[column])}
	}
	return found, nil
}

// greatCircleKm is the haversine distance between two airports.
func greatCircleKm(a, b airport) float64 {
	toRadians := math.Pi / 180
	dLat := (b.lat - a.lat) * toRadians
	dLon := (b.lon - a.lon) * toRadians
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.lat*toRadians)*math.Cos(b.lat*toRadians)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}
