package catalog

import (
	"fmt"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog/travel"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Commuting modes; bike and walk emit nothing and are recorded for the
// share of each mode.
var commutingModes = []string{"car", "motorbike", "bus", "coach", "train", "tram", "metro", "ferry", "taxi", "bike", "walk"}

func init() {
	register(&kinds.Kind{
		Name:   "commuting",
		Module: "commuting",
		Description: "Commuting, per person or per group of people who commute alike (a survey's table): the distance one way, twice a day, " +
			"times days a week and weeks a year, times people, gives the passenger-km, times the factor of the mode " +
			"(a car's per vehicle-km, shared by its occupants; trains the lab's country's national rail factor).",
		Columns: []kinds.Column{
			{Name: "person", Type: kinds.TypeText, Description: "Who: a name, a role or a survey group (optional)"},
			{Name: "people", Type: kinds.TypeInteger, Description: "How many people commute this way (default 1)"},
			{Name: "mode", Type: kinds.TypeText, Required: true, Description: "car, motorbike, bus, coach, train, tram, metro, ferry, taxi, bike or walk"},
			{Name: "distance_km", Type: kinds.TypeNumber, Unit: "km", Required: true, Description: "Home to work, one way"},
			{Name: "days_per_week", Type: kinds.TypeNumber, Description: "Days a week on site (default 5)"},
			{Name: "weeks_per_year", Type: kinds.TypeNumber, Description: "Weeks a year on site (default 45: holidays and leave out)"},
			{Name: "car_fuel", Type: kinds.TypeText, Description: "For a car: unknown (default), petrol, diesel, hybrid, plug_in_hybrid or battery_electric"},
			{Name: "car_size", Type: kinds.TypeText, Description: "For a car: average (default), small, medium or large"},
			{Name: "car_occupancy", Type: kinds.TypeNumber, Description: "For a car: people sharing it on average, the driver included (default 1)"},
		},
		Derived: []kinds.Column{
			{Name: "passenger_km", Type: kinds.TypeNumber, Unit: "km", Description: "The distance commuted in a year by all the row's people"},
		},
		Example: []string{"Survey 2025: drivers", "12", "car", "18", "4", "45", "petrol", "medium", "1.2"},
		Formula: computeCommuting,
	})
}

func computeCommuting(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	person, errPerson := row.Text("person", false)
	people, errPeople := row.Integer("people", 1, 1, 1_000_000)
	mode, errMode := row.Choice("mode", "", commutingModes...)
	distance, errDistance := row.Number("distance_km", true, 0, 0, 1_000)
	days, errDays := row.Number("days_per_week", false, 5, 0, 7)
	weeks, errWeeks := row.Number("weeks_per_year", false, 45, 0, 53)
	fuel, errFuel := row.Choice("car_fuel", travel.CarFuels[0], travel.CarFuels...)
	size, errSize := row.Choice("car_size", travel.CarSizes[0], travel.CarSizes...)
	occupancy, errOccupancy := row.Number("car_occupancy", false, 1, 1, 9)
	if err := kinds.FirstError(errPerson, errPeople, errMode, errDistance, errDays, errWeeks, errFuel, errSize, errOccupancy); err != nil {
		return kinds.Activity{}, err
	}
	passengerKm := distance * 2 * days * weeks * float64(people)
	inputs := []kinds.Input{{Name: "person", Value: person}, {Name: "people", Value: people}, {Name: "mode", Value: mode},
		{Name: "distance_km", Value: distance}, {Name: "days_per_week", Value: days}, {Name: "weeks_per_year", Value: weeks}}
	var emission kinds.Emission
	var err error
	switch mode {
	case "car":
		inputs = append(inputs, kinds.Input{Name: "car_fuel", Value: fuel}, kinds.Input{Name: "car_size", Value: size}, kinds.Input{Name: "car_occupancy", Value: occupancy})
		emission, err = travel.VehicleEmission(env, "car", size+"_"+fuel, passengerKm/occupancy)
	case "motorbike":
		emission, err = travel.VehicleEmission(env, "motorbike", "average", passengerKm)
	case "train":
		emission, err = travel.RailEmission(env, "national", env.LabCountry, passengerKm)
	case "bus":
		emission, err = travel.PassengerEmission(env, "bus", "average_local", passengerKm)
	case "tram", "metro":
		emission, err = travel.PassengerEmission(env, "tram", mode, passengerKm)
	case "ferry":
		emission, err = travel.PassengerEmission(env, "ferry", "foot_passenger", passengerKm)
	case "taxi":
		emission, err = travel.PassengerEmission(env, "taxi", "regular", passengerKm)
	case "coach":
		emission, err = travel.PassengerEmission(env, "coach", "", passengerKm)
	case "bike", "walk":
		emission = kinds.Emission{EmissionType: "active_travel", Scope: 3, Quantity: passengerKm, QuantityUnit: "passenger-km"}
	default:
		err = &kinds.FieldError{Column: "mode", Message: fmt.Sprintf("%q has no formula", mode)}
	}
	if err != nil {
		return kinds.Activity{}, err
	}
	emission.EmissionType = "commuting_" + mode
	return kinds.Activity{Inputs: append(inputs, kinds.Input{Name: "passenger_km", Value: passengerKm}), Emissions: []kinds.Emission{emission}}, nil
}
