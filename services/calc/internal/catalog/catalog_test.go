package catalog

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog/travel"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

func bundled(t *testing.T) *factors.Set {
	t.Helper()
	all, err := factors.Default()
	if err != nil {
		t.Fatal(err)
	}
	return factors.NewSet(all)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// total is what an activity adds to the totals (variant "").
func total(activity kinds.Activity) (kg float64) {
	for _, e := range activity.Emissions {
		if e.Variant == "" {
			kg += e.KgCO2e
		}
	}
	return kg
}

func compute(t *testing.T, kind string, env kinds.Env, values map[string]string) (kinds.Activity, error) {
	t.Helper()
	k, ok := Lookup(kind)
	if !ok {
		t.Fatalf("no kind %s", kind)
	}
	return k.Compute(kinds.Row(values), env)
}

func greatCircle(t *testing.T, from, to string) float64 {
	t.Helper()
	km, err := travel.GreatCircleKm(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return km
}

// Every kind, one row each, against the bundled dataset, with the figure
// worked out by hand from the formula and the factor in default.csv.
func TestEveryKindComputesItsFormula(t *testing.T) {
	set := bundled(t)
	ch := kinds.Env{Year: 2025, LabCountry: "CH", Factors: set}
	gb := kinds.Env{Year: 2024, LabCountry: "GB", Factors: set}
	// GVA–ZRH great circle, for the train.
	gvaZrh := greatCircle(t, "GVA", "ZRH")
	gvaCdg := greatCircle(t, "GVA", "CDG")
	// 12,500 CHF of 2025 in US dollars of 2022: at the 2025 ECB averages
	// (1.12998 USD and 0.93703 CHF per euro), then US CPI 2022/2024 (the
	// latest index the table has: 292.655 / 313.689).
	chfToUSD2022 := 12500 / 0.93703 * 1.12998 * 292.655 / 313.689
	cases := []struct {
		name, kind string
		env        kinds.Env
		values     map[string]string
		scope      int16
		kg         float64
		fallback   bool
	}{
		{"equipment", "equipment", ch, map[string]string{"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "350", "standby_hours_per_week": "0"},
			2, 168 * 350 * 52 / 1000.0 * 0.097, false},
		{"member", "member", ch, map[string]string{"fte": "0.8"}, 0, 0, false},
		{"student", "student", ch, map[string]string{"fte": "0.5", "position": "PhD"}, 0, 0, false},
		{"plane", "plane", ch, map[string]string{"departure": "GVA", "arrival": "LHR"},
			3, (greatCircle(t, "GVA", "LHR") + 95) * 0.15102, true},
		{"train within Switzerland", "train", ch, map[string]string{"origin": "GVA", "destination": "ZRH", "trips": "3", "round_trip": "yes"},
			3, gvaZrh * 1.2 * 6 * 0.00374, true},
		{"train across a border", "train", ch, map[string]string{"origin": "GVA", "destination": "CDG"},
			3, gvaCdg * 1.2 * 0.00446, true},
		{"train by distance in a country without a factor", "train", ch, map[string]string{"distance_km": "250", "country": "PL"},
			3, 250 * 0.03549, true},
		{"natural gas", "energy_combustion", ch, map[string]string{"fuel": "natural_gas", "quantity": "120000", "unit": "kWh"},
			1, 120000 * 0.18316, true},
		{"heating oil", "energy_combustion", ch, map[string]string{"fuel": "heating_oil", "quantity": "3000", "unit": "litres"},
			1, 3000 * 2.54014, true},
		{"district heat", "energy_combustion", ch, map[string]string{"fuel": "district_heating", "quantity": "50000"},
			2, 50000 * 0.17073, true},
		{"rooms on electricity", "rooms", ch, map[string]string{"room": "BC 410", "room_type": "laboratory", "area_m2": "45", "kwh_per_m2": "310"},
			2, 45 * 310 * 0.097, false},
		{"rooms on gas", "rooms", ch, map[string]string{"room": "BC 411", "area_m2": "20", "kwh_per_m2": "100", "energy": "natural_gas"},
			1, 20 * 100 * 0.18316, true},
		{"purchases", "purchases", ch, map[string]string{"category": "334516", "amount": "12500", "currency": "chf"},
			3, chfToUSD2022 * 0.102, true},
		{"cloud by energy", "cloud", ch, map[string]string{"provider": "google", "kwh": "5200"},
			3, 5200 * 1.1 * 0.097, false},
		{"cloud by spend", "cloud", gb, map[string]string{"provider": "aws", "amount": "1000", "currency": "USD"},
			3, 1000 * 292.655 / 313.689 * 0.093, false},
		{"ai", "ai", gb, map[string]string{"provider": "aws", "country": "GB", "gpu_model": "A100", "gpu_hours": "800"},
			3, 800 * 407 / 1000.0 * 1.135 * 0.20707, true},
		{"process emissions", "process_emissions", ch, map[string]string{"gas": "R-410A", "quantity_kg": "2.5"},
			1, 2.5 * 1924, true},
		{"research facility by share", "research_facilities", ch, map[string]string{"facility": "EM platform", "facility_kg_co2e": "48000", "share_pct": "12.5"},
			3, 48000 * 0.125, false},
		{"research facility by hours", "research_facilities", ch, map[string]string{"facility": "Cluster", "facility_kg_co2e": "10000", "usage_hours": "300", "total_hours": "1200"},
			3, 10000 * 300 / 1200.0, false},
		// DESNZ 2024 factors, so flagged in 2025.
		{"car shared with someone else", "car", ch, map[string]string{"distance_km": "180", "trips": "2", "round_trip": "yes", "fuel": "diesel", "size": "medium", "occupants": "3", "lab_occupants": "2"},
			3, 180 * 4 * 2 / 3.0 * 0.16807, true},
		{"electric car", "car", ch, map[string]string{"distance_km": "100", "fuel": "battery_electric"}, 3, 100 * 0.04745, true},
		{"bus", "bus", ch, map[string]string{"distance_km": "12", "trips": "40", "round_trip": "yes"}, 3, 12 * 80 * 0.10846, true},
		{"coach", "coach", ch, map[string]string{"distance_km": "450", "round_trip": "yes"}, 3, 450 * 2 * 0.02717, true},
		{"metro", "tram", ch, map[string]string{"distance_km": "6", "trips": "20", "line": "metro"}, 3, 6 * 20 * 0.0278, true},
		{"tram", "tram", ch, map[string]string{"distance_km": "6"}, 3, 6 * 0.0286, true},
		{"ferry", "ferry", ch, map[string]string{"distance_km": "60", "passenger": "car_passenger"}, 3, 60 * 0.12933, true},
		{"taxi", "taxi", ch, map[string]string{"distance_km": "15", "trips": "4", "taxi": "black_cab"}, 3, 60 * 0.20402, true},
		{"commuting by car, a survey's group", "commuting", ch, map[string]string{"people": "12", "mode": "car", "distance_km": "18", "days_per_week": "4", "car_fuel": "petrol", "car_size": "medium", "car_occupancy": "1.2"},
			3, 18 * 2 * 4 * 45 * 12 / 1.2 * 0.17726, true},
		{"commuting by train in Switzerland", "commuting", ch, map[string]string{"people": "3", "mode": "train", "distance_km": "10", "weeks_per_year": "46"},
			3, 10 * 2 * 5 * 46 * 3 * 0.00374, true},
		{"commuting by metro", "commuting", ch, map[string]string{"mode": "metro", "distance_km": "7"}, 3, 7 * 2 * 5 * 45 * 0.0278, true},
		{"commuting by bike", "commuting", ch, map[string]string{"people": "9", "mode": "bike", "distance_km": "4"}, 3, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			activity, err := compute(t, c.kind, c.env, c.values)
			if err != nil {
				t.Fatal(err)
			}
			if got := total(activity); !near(got, c.kg) {
				t.Fatalf("kg %.10f, by hand %.10f", got, c.kg)
			}
			first := activity.Emissions[0]
			if first.Scope != c.scope || first.Fallback != c.fallback {
				t.Fatalf("scope %d fallback %v, want %d %v", first.Scope, first.Fallback, c.scope, c.fallback)
			}
			if first.Factor.ID == ([16]byte{}) && first.Factor.Dataset != "" && first.Factor.Source == "" {
				t.Fatalf("a factor without provenance: %+v", first.Factor)
			}
		})
	}
}

// Scope 2 both ways: the lab's declared contract, else the residual mix,
// else the grid average flagged as a fallback.
func TestElectricityIsReportedLocationAndMarketBased(t *testing.T) {
	set := bundled(t)
	values := map[string]string{"equipment_name": "Server", "category": "it", "active_hours_per_week": "100", "active_power_w": "500"}
	kWh := 100 * 500 * 52 / 1000.0

	withContract := kinds.Env{Year: 2025, LabCountry: "CH", Factors: set, Contract: &kinds.Contract{Supplier: "Hydro SA", KgPerKWh: 0.012, Source: "supplier disclosure 2025"}}
	activity, err := compute(t, "equipment", withContract, values)
	if err != nil {
		t.Fatal(err)
	}
	if len(activity.Emissions) != 2 {
		t.Fatalf("emissions %+v", activity.Emissions)
	}
	location, market := activity.Emissions[0], activity.Emissions[1]
	if location.Variant != "" || !near(location.KgCO2e, kWh*0.097) {
		t.Fatalf("location-based %+v", location)
	}
	if market.Variant != kinds.VariantMarketBased || !near(market.KgCO2e, kWh*0.012) || market.Fallback || market.Factor.Dataset != "lab_contract" {
		t.Fatalf("market-based with a contract %+v", market)
	}

	residual := factors.Factor{Dataset: "mine", Version: "1", Kind: "electricity", EmissionType: "electricity_grid", Classification: "residual_mix", Region: "CH", Year: 2025, Value: 0.3, Unit: "kWh"}
	all, _ := factors.Default()
	withResidual := kinds.Env{Year: 2025, LabCountry: "CH", Factors: factors.NewSet(append(all, residual))}
	activity, _ = compute(t, "equipment", withResidual, values)
	if market := activity.Emissions[1]; !near(market.KgCO2e, kWh*0.3) || market.Fallback {
		t.Fatalf("market-based on the residual mix %+v", market)
	}

	// The lab's contract is for its own supply, not a cloud provider's in
	// the same country.
	activity, _ = compute(t, "cloud", withContract, map[string]string{"provider": "google", "kwh": "1000", "pue": "1"})
	if market := activity.Emissions[1]; !near(market.KgCO2e, 1000*0.097) || !market.Fallback {
		t.Fatalf("market-based cloud energy %+v", market)
	}

	activity, _ = compute(t, "equipment", kinds.Env{Year: 2025, LabCountry: "CH", Factors: set}, values)
	if market := activity.Emissions[1]; !near(market.KgCO2e, kWh*0.097) || !market.Fallback {
		t.Fatalf("market-based without either %+v", market)
	}
}

func TestAGivenFigureOverridesTheComputedOne(t *testing.T) {
	env := kinds.Env{Year: 2025, LabCountry: "CH", Factors: bundled(t)}
	activity, err := compute(t, "plane", env, map[string]string{"departure": "GVA", "arrival": "LHR", "kg_co2e": "150"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range activity.Emissions {
		if !near(e.KgCO2e, 150) || !e.Overridden || e.Factor.ID != ([16]byte{}) || e.Factor.Dataset != "" {
			t.Fatalf("overridden emission %+v", e)
		}
	}
	var computed any
	for _, input := range activity.Inputs {
		if input.Name == "computed_kg_co2e" {
			computed = input.Value
		}
	}
	if computed == nil || computed.(float64) <= 0 {
		t.Fatalf("the computed figure is kept beside the override: %v", activity.Inputs)
	}
	if _, err := compute(t, "member", env, map[string]string{"fte": "1", "kg_co2e": "5"}); err == nil || !strings.Contains(err.Error(), "kg_co2e") {
		t.Fatalf("an override on a measure: %v", err)
	}
}

// Bad values are refused with the column and a message saying what to fix.
func TestBadValuesAreRefusedNamingTheColumn(t *testing.T) {
	env := kinds.Env{Year: 2025, LabCountry: "CH", Factors: bundled(t)}
	cases := []struct {
		kind   string
		values map[string]string
		column string
		says   string
	}{
		{"equipment", map[string]string{"equipment_name": "Oven", "category": "it", "active_hours_per_week": "200", "active_power_w": "10"}, "active_hours_per_week", "out of range"},
		{"equipment", map[string]string{"equipment_name": "Laser", "category": "it", "active_hours_per_week": "10", "active_power_w": "-5"}, "active_power_w", "out of range"},
		{"member", map[string]string{"fte": "1.5"}, "fte", "out of range"},
		{"student", map[string]string{}, "fte", "required"},
		{"plane", map[string]string{"departure": "GVA", "arrival": "XXX"}, "arrival", "not a known IATA"},
		{"train", map[string]string{"origin": "GVA", "destination": "QQQ"}, "destination", "not a known IATA"},
		{"train", map[string]string{"distance_km": "-3"}, "distance_km", "out of range"},
		{"energy_combustion", map[string]string{"fuel": "coal", "quantity": "5"}, "fuel", "not one of"},
		{"energy_combustion", map[string]string{"fuel": "heating_oil", "quantity": "5", "unit": "kWh"}, "unit", "litre"},
		{"rooms", map[string]string{"room": "A", "area_m2": "-1", "kwh_per_m2": "100"}, "area_m2", "out of range"},
		{"purchases", map[string]string{"category": "334516", "amount": "100", "currency": "JPY"}, "currency", "not a currency"},
		{"purchases", map[string]string{"category": "999999", "amount": "100", "currency": "EUR"}, "category", "not a category"},
		{"purchases", map[string]string{"category": "334516", "amount": "-100", "currency": "EUR"}, "amount", "out of range"},
		{"cloud", map[string]string{"provider": "aws"}, "kwh", "give the energy"},
		{"cloud", map[string]string{"provider": "ibm", "kwh": "5"}, "provider", "not one of"},
		{"cloud", map[string]string{"provider": "aws", "kwh": "5", "country": "LI"}, "country", "no electricity factor for LI"},
		{"train", map[string]string{"distance_km": "30", "country": "XX"}, "country", `"XX" is not an ISO 3166-1 alpha-2 country code`},
		{"cloud", map[string]string{"provider": "aws", "kwh": "5", "country": "Germany"}, "country", `"Germany" is not an ISO 3166-1`},
		{"car", map[string]string{"distance_km": "100", "occupants": "2", "lab_occupants": "3"}, "lab_occupants", "more than the car's 2 occupants"},
		{"car", map[string]string{"distance_km": "100", "fuel": "hydrogen"}, "fuel", "not one of"},
		{"bus", map[string]string{"trips": "3"}, "distance_km", "required"},
		{"ferry", map[string]string{"distance_km": "20", "passenger": "truck"}, "passenger", "not one of"},
		{"commuting", map[string]string{"mode": "rocket", "distance_km": "5"}, "mode", "not one of"},
		{"commuting", map[string]string{"mode": "car", "distance_km": "5", "days_per_week": "8"}, "days_per_week", "out of range"},
		{"ai", map[string]string{"provider": "aws", "gpu_model": "h9000", "gpu_hours": "10"}, "gpu_model", "gpu_power_w"},
		{"process_emissions", map[string]string{"gas": "r-22", "quantity_kg": "1"}, "gas", "r-410a"},
		{"research_facilities", map[string]string{"facility": "X", "facility_kg_co2e": "100", "share_pct": "120"}, "share_pct", "out of range"},
		{"research_facilities", map[string]string{"facility": "X", "facility_kg_co2e": "100", "usage_hours": "20", "total_hours": "10"}, "usage_hours", "more than"},
		{"equipment", map[string]string{"equipment_name": "A", "category": "it", "active_hours_per_week": "1", "active_power_w": "1", "kg_co2e": "-4"}, "kg_co2e", "out of range"},
	}
	for _, c := range cases {
		_, err := compute(t, c.kind, env, c.values)
		var fieldErr *kinds.FieldError
		if !errors.As(err, &fieldErr) || fieldErr.Column != c.column || !strings.Contains(fieldErr.Message, c.says) {
			t.Errorf("%s %v: got %v, want %s: …%s…", c.kind, c.values, err, c.column, c.says)
		}
	}
}

// Every kind's example row computes, and names its module.
func TestEveryTemplateRowComputes(t *testing.T) {
	env := kinds.Env{Year: 2025, LabCountry: "GB", Factors: bundled(t)}
	modules := map[string]bool{}
	for _, kind := range All() {
		names := make([]string, len(kind.Columns))
		for i, column := range kind.Columns {
			names[i] = column.Name
		}
		if _, err := kind.Compute(kinds.NewRow(names, kind.Example), env); err != nil {
			t.Errorf("%s example: %v", kind.Name, err)
		}
		modules[kind.Module] = true
	}
	for _, module := range []string{"headcount", "professional_travel", "buildings", "equipment", "purchases", "external_cloud_and_ai", "process_emissions", "research_facilities"} {
		if !modules[module] {
			t.Errorf("no kind in module %s", module)
		}
	}
}

// Every country the bundled grid figures cover computes an equipment row
// in each year it has a figure for, with that year's figure; a year after
// the latest takes the latest, flagged as a fallback.
func TestEveryCountryWithAGridFigureComputesEachOfItsYears(t *testing.T) {
	all, err := factors.Default()
	if err != nil {
		t.Fatal(err)
	}
	set := factors.NewSet(all)
	values := map[string]string{"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "300"}
	kWh := 168 * 300 * 52 / 1000.0
	latest := map[string]factors.Factor{}
	walked := 0
	for _, grid := range all {
		if grid.Kind != "electricity" || grid.EmissionType != "electricity_grid" || grid.Classification != "location" {
			continue
		}
		walked++
		activity, err := compute(t, "equipment", kinds.Env{Year: grid.Year, LabCountry: grid.Region, Factors: set}, values)
		if err != nil {
			t.Fatalf("%s %d: %v", grid.Region, grid.Year, err)
		}
		location := activity.Emissions[0]
		if location.Factor.Region != grid.Region || location.Factor.Year != grid.Year || location.Fallback || !near(location.KgCO2e, kWh*grid.Value) {
			t.Fatalf("%s %d: computed with %s %d (fallback %v), %v kg, want %v", grid.Region, grid.Year,
				location.Factor.Region, location.Factor.Year, location.Fallback, location.KgCO2e, kWh*grid.Value)
		}
		if grid.Year > latest[grid.Region].Year {
			latest[grid.Region] = grid
		}
	}
	if len(latest) < 200 || walked < 5000 {
		t.Fatalf("%d countries, %d country-years: the bundled grid figures should cover every country with a published figure", len(latest), walked)
	}
	for region, grid := range latest {
		activity, err := compute(t, "equipment", kinds.Env{Year: grid.Year + 1, LabCountry: region, Factors: set}, values)
		if err != nil {
			t.Fatal(err)
		}
		if location := activity.Emissions[0]; location.Factor.Year != grid.Year || !location.Fallback {
			t.Fatalf("%s %d: computed with %d, fallback %v", region, grid.Year+1, location.Factor.Year, location.Fallback)
		}
	}
}
