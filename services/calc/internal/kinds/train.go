package kinds

import (
	"errors"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
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

func init() {
	register(&Kind{
		Name:        "train",
		Module:      "professional_travel",
		Description: "Train journeys: the great-circle distance between the two places times 1.2 (or a distance given), times trips (twice for a round trip), times the rail factor of the country (or the international factor across a border).",
		Columns: []Column{
			{Name: "origin", Type: TypeText, Description: "Where the journey starts: the IATA code of the city's airport stands for the city, e.g. GVA for Geneva (required unless distance_km is given)"},
			{Name: "destination", Type: TypeText, Description: "Where it ends, the same way, e.g. ZRH for Zurich"},
			{Name: "distance_km", Type: TypeNumber, Unit: "km", Description: "The distance travelled one way, when known (then origin and destination are optional)"},
			{Name: "country", Type: TypeText, Description: "ISO country code of a journey given by distance (default: the lab's country)"},
			{Name: "trips", Type: TypeInteger, Description: "How many times the journey was made (default 1)"},
			{Name: "round_trip", Type: TypeBoolean, Description: "yes when each trip also came back (default no)"},
		},
		Example: []string{"GVA", "ZRH", "", "", "3", "yes"},
		compute: computeTrain,
	})
}

func computeTrain(row Row, env Env) (Activity, error) {
	given, errDistance := row.number("distance_km", false, 0, 0, 40_000)
	trips, errTrips := row.integer("trips", 1, 1, 100_000)
	roundTrip, errRoundTrip := row.boolean("round_trip", false)
	if err := firstError(errDistance, errTrips, errRoundTrip); err != nil {
		return Activity{}, err
	}
	inputs := []Input{}
	var distance float64
	var classification, country string
	switch {
	case row["distance_km"] != "":
		distance = given
		country = strings.ToUpper(row["country"])
		if country == "" {
			country = env.LabCountry
		}
		if len(country) != 2 {
			return Activity{}, &FieldError{"country", "an ISO 3166 two-letter country code such as CH"}
		}
		classification = railNational
		inputs = append(inputs, Input{"origin", strings.ToUpper(row["origin"])}, Input{"destination", strings.ToUpper(row["destination"])},
			Input{"distance_km", given}, Input{"country", country})
	default:
		origin, errOrigin := airportOf(row, "origin")
		destination, errDestination := airportOf(row, "destination")
		if err := firstError(errOrigin, errDestination); err != nil {
			return Activity{}, err
		}
		if origin.code == destination.code {
			return Activity{}, &FieldError{"destination", "the same place as the origin"}
		}
		greatCircle := greatCircleKm(origin, destination)
		distance = greatCircle * railDetour
		country, classification = origin.country, railNational
		if origin.country != destination.country {
			country, classification = "", railInternational
		}
		inputs = append(inputs, Input{"origin", origin.code}, Input{"destination", destination.code}, Input{"great_circle_km", greatCircle})
	}
	legs := trips
	if roundTrip {
		legs *= 2
	}
	passengerKm := distance * float64(legs)
	key := factors.Key{Kind: "train", EmissionType: "train", Classification: classification, Region: country}
	factor, fallback, err := env.factor(key)
	var missing *MissingFactorError
	if errors.As(err, &missing) && country != "" {
		key.Region = ""
		factor, _, err = env.factor(key)
		fallback = true
	}
	if err != nil {
		return Activity{}, err
	}
	// Derived values are named apart from the columns: an activity's
	// inputs under a column's name are what was given.
	inputs = append(inputs, Input{"trips", trips}, Input{"round_trip", roundTrip}, Input{"travelled_km", distance},
		Input{"rail", classification}, Input{"factor_region", key.Region}, Input{"passenger_km", passengerKm})
	return Activity{Inputs: inputs, Emissions: []Emission{{
		EmissionType: "train", Scope: 3, Quantity: passengerKm, QuantityUnit: "passenger-km",
		KgCO2e: passengerKm * factor.Value, Factor: factor, Fallback: fallback,
	}}}, nil
}
