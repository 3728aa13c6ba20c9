package travel

import (
	"fmt"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Road, tram and sea travel take the UK government's (DESNZ) 2024 factors
// for every country: no openly licensed table gives them per country. A
// car's factor is per vehicle-km, shared among the people in the car; the
// others are per passenger-km.

// CarSizes and CarFuels are the car bands and fuels, as the DESNZ car
// table names them (the first of each is the default).
var (
	CarSizes = []string{"average", "small", "medium", "large"}
	CarFuels = []string{"unknown", "petrol", "diesel", "hybrid", "plug_in_hybrid", "battery_electric"}
)

// Car is the travel module's car kind.
var Car = &kinds.Kind{
	Name:   "car",
	Module: "professional_travel",
	Description: "Car journeys: the distance driven one way times trips (twice for a round trip) gives the vehicle-km, times the DESNZ factor of the car's size and fuel, " +
		"times the share of the car's occupants who travelled for the lab.",
	Columns: []kinds.Column{
		{Name: "distance_km", Type: kinds.TypeNumber, Unit: "km", Required: true, Description: "The distance driven one way"},
		{Name: "trips", Type: kinds.TypeInteger, Description: "How many times the journey was made (default 1)"},
		{Name: "round_trip", Type: kinds.TypeBoolean, Description: "yes when each trip also came back (default no)"},
		{Name: "fuel", Type: kinds.TypeText, Description: "unknown (default), petrol, diesel, hybrid, plug_in_hybrid or battery_electric"},
		{Name: "size", Type: kinds.TypeText, Description: "average (default), small, medium or large"},
		{Name: "occupants", Type: kinds.TypeInteger, Description: "People in the car, the driver included (default 1)"},
		{Name: "lab_occupants", Type: kinds.TypeInteger, Description: "Of them, how many travelled for the lab (default all)"},
	},
	Derived: []kinds.Column{
		{Name: "vehicle_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance driven in all: trips, both ways for a round trip"},
		{Name: "lab_share", Type: kinds.TypeNumber, Description: "The share of the car's emissions that is the lab's: lab occupants over occupants"},
	},
	Example: []string{"180", "2", "yes", "diesel", "medium", "3", "2"},
	Formula: computeCar,
}

func computeCar(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	distance, errDistance := row.Number("distance_km", true, 0, 0, 40_000)
	legs, errLegs := legsOf(row)
	fuel, errFuel := row.Choice("fuel", CarFuels[0], CarFuels...)
	size, errSize := row.Choice("size", CarSizes[0], CarSizes...)
	occupants, errOccupants := row.Integer("occupants", 1, 1, 9)
	labOccupants, errLab := row.Integer("lab_occupants", occupants, 1, 9)
	if err := kinds.FirstError(errDistance, errLegs, errFuel, errSize, errOccupants, errLab); err != nil {
		return kinds.Activity{}, err
	}
	if labOccupants > occupants {
		return kinds.Activity{}, &kinds.FieldError{Column: "lab_occupants", Message: fmt.Sprintf("%d: more than the car's %d occupants", labOccupants, occupants)}
	}
	vehicleKm := distance * float64(legs)
	share := float64(labOccupants) / float64(occupants)
	emission, err := VehicleEmission(env, "car", size+"_"+fuel, vehicleKm*share)
	if err != nil {
		return kinds.Activity{}, err
	}
	return kinds.Activity{
		Inputs: append(tripInputs(row, distance, legs),
			kinds.Input{Name: "fuel", Value: fuel}, kinds.Input{Name: "size", Value: size},
			kinds.Input{Name: "occupants", Value: occupants}, kinds.Input{Name: "lab_occupants", Value: labOccupants},
			kinds.Input{Name: "vehicle_km", Value: vehicleKm}, kinds.Input{Name: "lab_share", Value: share}),
		Emissions: []kinds.Emission{emission},
	}, nil
}

// VehicleEmission is what vehicleKm in a vehicle of kind (of class) emit:
// the vehicle's factor is per vehicle-km whoever is in it.
func VehicleEmission(env kinds.Env, kind, class string, vehicleKm float64) (kinds.Emission, error) {
	return perKm(env, kind, class, vehicleKm, "vehicle-km")
}

// passengerMode is a kind computed per passenger-km: a factor for each of
// its classes, the first the default.
type passengerMode struct {
	name, what, column, columnHelp string
	classes                        []string
	example                        []string
}

// The passenger-km kinds: bus, coach, tram (and metro), ferry and taxi.
var (
	Bus = passengerKind(passengerMode{name: "bus", what: "Bus journeys", column: "bus",
		columnHelp: "average_local (default), local_not_london or london, as DESNZ names its bus factors",
		classes:    []string{"average_local", "local_not_london", "london"}, example: []string{"12", "40", "yes", "average_local"}})
	Coach = passengerKind(passengerMode{name: "coach", what: "Coach journeys",
		example: []string{"450", "1", "yes"}})
	Tram = passengerKind(passengerMode{name: "tram", what: "Tram, light rail and metro journeys", column: "line",
		columnHelp: "tram (default, also light rail) or metro",
		classes:    []string{"tram", "metro"}, example: []string{"6", "20", "yes", "metro"}})
	Ferry = passengerKind(passengerMode{name: "ferry", what: "Ferry crossings", column: "passenger",
		columnHelp: "foot_passenger (default), car_passenger or average (passengers of either kind)",
		classes:    []string{"foot_passenger", "car_passenger", "average"}, example: []string{"60", "1", "yes", "foot_passenger"}})
	Taxi = passengerKind(passengerMode{name: "taxi", what: "Taxi rides", column: "taxi",
		columnHelp: "regular (default) or black_cab",
		classes:    []string{"regular", "black_cab"}, example: []string{"15", "4", "no", "regular"}})
)

func passengerKind(mode passengerMode) *kinds.Kind {
	columns := []kinds.Column{
		{Name: "distance_km", Type: kinds.TypeNumber, Unit: "km", Required: true, Description: "The distance travelled one way by each traveller"},
		{Name: "trips", Type: kinds.TypeInteger, Description: "How many journeys: one per traveller and time (default 1)"},
		{Name: "round_trip", Type: kinds.TypeBoolean, Description: "yes when each trip also came back (default no)"},
	}
	factorOf := "the DESNZ " + mode.name + " factor"
	if mode.column != "" {
		columns = append(columns, kinds.Column{Name: mode.column, Type: kinds.TypeText, Description: mode.columnHelp})
		factorOf = "the DESNZ factor of the " + mode.column
	}
	return &kinds.Kind{
		Name:        mode.name,
		Module:      "professional_travel",
		Description: fmt.Sprintf("%s: the distance one way times trips (twice for a round trip) gives the passenger-km, times %s.", mode.what, factorOf),
		Columns:     columns,
		Derived:     []kinds.Column{{Name: "passenger_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance travelled in all: trips, both ways for a round trip"}},
		Example:     mode.example,
		Formula: func(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
			distance, errDistance := row.Number("distance_km", true, 0, 0, 40_000)
			legs, errLegs := legsOf(row)
			var class string
			var errClass error
			if mode.column != "" {
				class, errClass = row.Choice(mode.column, mode.classes[0], mode.classes...)
			}
			if err := kinds.FirstError(errDistance, errLegs, errClass); err != nil {
				return kinds.Activity{}, err
			}
			inputs := tripInputs(row, distance, legs)
			if mode.column != "" {
				inputs = append(inputs, kinds.Input{Name: mode.column, Value: class})
			}
			passengerKm := distance * float64(legs)
			emission, err := PassengerEmission(env, mode.name, class, passengerKm)
			if err != nil {
				return kinds.Activity{}, err
			}
			return kinds.Activity{Inputs: append(inputs, kinds.Input{Name: "passenger_km", Value: passengerKm}), Emissions: []kinds.Emission{emission}}, nil
		},
	}
}

// PassengerEmission is what passengerKm by kind (of class) emit.
func PassengerEmission(env kinds.Env, kind, class string, passengerKm float64) (kinds.Emission, error) {
	return perKm(env, kind, class, passengerKm, "passenger-km")
}

// perKm is what km (in unit) by kind (of class) emit, at the factor of the
// kind and class.
func perKm(env kinds.Env, kind, class string, km float64, unit string) (kinds.Emission, error) {
	factor, fallback, err := env.Factor(factors.Key{Kind: kind, EmissionType: kind, Classification: class})
	if err != nil {
		return kinds.Emission{}, err
	}
	return kinds.Emission{EmissionType: kind, Scope: 3, Quantity: km, QuantityUnit: unit,
		KgCO2e: km * factor.Value, Factor: factor, Fallback: fallback}, nil
}

// legsOf is trips, twice for a round trip.
func legsOf(row kinds.Row) (int64, error) {
	trips, errTrips := row.Integer("trips", 1, 1, 100_000)
	roundTrip, errRoundTrip := row.Boolean("round_trip", false)
	if err := kinds.FirstError(errTrips, errRoundTrip); err != nil {
		return 0, err
	}
	if roundTrip {
		return trips * 2, nil
	}
	return trips, nil
}

// tripInputs records the distance, trips and round trip as given.
func tripInputs(row kinds.Row, distance float64, legs int64) []kinds.Input {
	trips, _ := row.Integer("trips", 1, 1, 100_000)
	return []kinds.Input{{Name: "distance_km", Value: distance}, {Name: "trips", Value: trips},
		{Name: "round_trip", Value: legs == 2*trips}}
}
