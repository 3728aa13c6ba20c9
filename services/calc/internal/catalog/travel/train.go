package travel

import (
	"errors"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Rail conventions (GES 1point5, EPFL): the distance travelled is the
// great-circle distance times 1.2. A journey within one country takes that
// country's national rail factor; a journey across a border takes the
// international rail factor. Fallback (documented, flagged): a country
// without a national factor takes the dataset's national factor without a
// region.
const (
	railDetour        = 1.2
	railNational      = "national"
	railInternational = "international"
)

// Train is the travel module's train kind.
var Train = &kinds.Kind{
	Name:        "train",
	Module:      "professional_travel",
	Description: "Train journeys: the great-circle distance between the two places times 1.2 (or a distance given), times trips (twice for a round trip), times the rail factor of the country (or the international factor across a border).",
	Columns: []kinds.Column{
		{Name: "origin", Type: kinds.TypeText, Description: "Where the journey starts: the IATA code of the city's airport stands for the city, e.g. GVA for Geneva (required unless distance_km is given)"},
		{Name: "destination", Type: kinds.TypeText, Description: "Where it ends, the same way, e.g. ZRH for Zurich"},
		{Name: "distance_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance travelled one way, when known (then origin and destination are optional)"},
		{Name: "country", Type: kinds.TypeText, Description: "ISO country code of a journey given by distance (default: the lab's country)"},
		{Name: "trips", Type: kinds.TypeInteger, Description: "How many times the journey was made (default 1)"},
		{Name: "round_trip", Type: kinds.TypeBoolean, Description: "yes when each trip also came back (default no)"},
	},
	Derived: []kinds.Column{
		{Name: "travelled_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance travelled one way"},
		{Name: "passenger_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance travelled in all: trips, both ways for a round trip"},
	},
	Example: []string{"GVA", "ZRH", "", "", "3", "yes"},
	Formula: computeTrain,
}

func computeTrain(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	given, errDistance := row.Number("distance_km", false, 0, 0, 40_000)
	trips, errTrips := row.Integer("trips", 1, 1, 100_000)
	roundTrip, errRoundTrip := row.Boolean("round_trip", false)
	if err := kinds.FirstError(errDistance, errTrips, errRoundTrip); err != nil {
		return kinds.Activity{}, err
	}
	inputs := []kinds.Input{}
	var distance float64
	var classification, country string
	switch {
	case row["distance_km"] != "":
		distance = given
		var err error
		if country, err = row.Country("country", env.LabCountry); err != nil {
			return kinds.Activity{}, err
		}
		classification = railNational
		inputs = append(inputs, kinds.Input{Name: "origin", Value: strings.ToUpper(row["origin"])}, kinds.Input{Name: "destination", Value: strings.ToUpper(row["destination"])},
			kinds.Input{Name: "distance_km", Value: given}, kinds.Input{Name: "country", Value: country})
	default:
		origin, errOrigin := airportOf(row, "origin")
		destination, errDestination := airportOf(row, "destination")
		if err := kinds.FirstError(errOrigin, errDestination); err != nil {
			return kinds.Activity{}, err
		}
		if origin.code == destination.code {
			return kinds.Activity{}, &kinds.FieldError{Column: "destination", Message: "the same place as the origin"}
		}
		greatCircle := greatCircleKm(origin, destination)
		distance = greatCircle * railDetour
		country, classification = origin.country, railNational
		if origin.country != destination.country {
			country, classification = "", railInternational
		}
		inputs = append(inputs, kinds.Input{Name: "origin", Value: origin.code}, kinds.Input{Name: "destination", Value: destination.code}, kinds.Input{Name: "great_circle_km", Value: greatCircle})
	}
	legs := trips
	if roundTrip {
		legs *= 2
	}
	passengerKm := distance * float64(legs)
	emission, err := RailEmission(env, classification, country, passengerKm)
	if err != nil {
		return kinds.Activity{}, err
	}
	// Derived values are named apart from the columns: an activity's
	// inputs under a column's name are what was given.
	inputs = append(inputs, kinds.Input{Name: "trips", Value: trips}, kinds.Input{Name: "round_trip", Value: roundTrip}, kinds.Input{Name: "travelled_km", Value: distance},
		kinds.Input{Name: "rail", Value: classification}, kinds.Input{Name: "factor_region", Value: emission.Factor.Region}, kinds.Input{Name: "passenger_km", Value: passengerKm})
	return kinds.Activity{Inputs: inputs, Emissions: []kinds.Emission{emission}}, nil
}

// RailEmission is what passengerKm by rail emit: the factor of country
// (national, or international across a border with country empty), else
// the national factor without a region, flagged as a fallback.
func RailEmission(env kinds.Env, classification, country string, passengerKm float64) (kinds.Emission, error) {
	key := factors.Key{Kind: "train", EmissionType: "train", Classification: classification, Region: country}
	factor, fallback, err := env.Factor(key)
	var missing *kinds.MissingFactorError
	if errors.As(err, &missing) && country != "" {
		key.Region = ""
		factor, _, err = env.Factor(key)
		fallback = true
	}
	if err != nil {
		return kinds.Emission{}, err
	}
	return kinds.Emission{EmissionType: "train", Scope: 3, Quantity: passengerKm, QuantityUnit: "passenger-km",
		KgCO2e: passengerKm * factor.Value, Factor: factor, Fallback: fallback}, nil
}
