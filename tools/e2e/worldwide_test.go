package e2e

import (
	"fmt"
	"testing"
)

// A lab in a country without a national figure computes with the bundled
// grid figure of the reporting year (Our World in Data's carbon
// intensities), each year its own.
func TestALabAnywhereComputesItsElectricityWithThatYearsFigure(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	const kWh = 168 * 300 * 52 / 1000.0 // the row below, one freezer a year
	for _, c := range []struct {
		country  string
		year     int
		kgPerKWh float64
	}{
		{"DE", 2023, 0.371311}, {"DE", 2020, 0.355659}, {"JP", 2022, 0.519619}, {"BR", 2010, 0.114153}, {"ZA", 2024, 0.708876},
	} {
		t.Run(fmt.Sprintf("%s %d", c.country, c.year), func(t *testing.T) {
			lab := mustCall(t, 200, "POST", api+"/labs", fmt.Sprintf(`{"code":"GRID-%s-%d","name":"Lab","country":"%s"}`, c.country, c.year, c.country))["id"].(string)
			_, answer := upload(t, sys, "admin", lab, fmt.Sprintf("kind=equipment&year=%d", c.year), equipmentHeader+"Freezer,scientific,1,168,300,0,0\n", false)
			if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" {
				t.Fatalf("import: %v", done)
			}
			got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND year = $2 AND variant = ''", lab, c.year)
			if !near(got, kWh*c.kgPerKWh) {
				t.Fatalf("%v kg, want %v kWh × %v", got, kWh, c.kgPerKWh)
			}
		})
	}
}

// Each new travel kind and commuting imports its own template, and the
// total is the documented formula on the template's example row with the
// DESNZ 2024 factor (docs/modules.md).
func TestTheTravelAndCommutingTemplatesImportAndCompute(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	for kind, kg := range map[string]float64{
		"car":       180 * 4 * 2 / 3.0 * 0.16807, // medium diesel, 2 of its 3 occupants
		"bus":       12 * 40 * 2 * 0.10846,       // average local bus
		"coach":     450 * 2 * 0.02717,
		"tram":      6 * 20 * 2 * 0.0278,                  // metro
		"ferry":     60 * 2 * 0.01871,                     // foot passenger
		"taxi":      15 * 4 * 0.14861,                     // regular taxi
		"commuting": 18 * 2 * 4 * 45 * 12 / 1.2 * 0.17726, // 12 drivers of medium petrol cars, 1.2 a car
	} {
		t.Run(kind, func(t *testing.T) {
			template := mustCall(t, 200, "GET", api+"/templates/"+kind, "")["csv"].(string)
			lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"TPL-`+kind+`","name":"Lab","country":"FR"}`)["id"].(string)
			_, answer := upload(t, sys, "admin", lab, "kind="+kind+"&year=2025", template, false)
			if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" || done["rowsOk"] != "1" {
				t.Fatalf("the %s template: %v", kind, done)
			}
			got := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND year = 2025 AND variant = ''", lab)
			if !near(got, kg) {
				t.Fatalf("%s: %v kg, want %v", kind, got, kg)
			}
		})
	}
}

// A commuting survey's cyclists import and count their kilometres with no
// emissions: each mode's share can be shown.
func TestCyclingCommutersCountTheirKilometresAndEmitNothing(t *testing.T) {
	sys := startSystem(t)
	api := sys.Gateway + "/api/v1"
	lab := mustCall(t, 200, "POST", api+"/labs", `{"code":"BIKES","name":"Lab","country":"NL"}`)["id"].(string)
	_, answer := upload(t, sys, "admin", lab, "kind=commuting&year=2025", "person,people,mode,distance_km\nCyclists,7,bike,4\n", false)
	if done := waitFinished(t, sys, importID(t, answer)); done["result"] != "SUCCESS" || done["rowsOk"] != "1" {
		t.Fatalf("import: %v", done)
	}
	kg := queryFloat(t, sys, "SELECT sum(kg_co2e) FROM calc.rollups WHERE lab_id = $1 AND module = 'commuting' AND variant = ''", lab)
	km := queryFloat(t, sys, "SELECT sum(quantity) FROM calc.rollups WHERE lab_id = $1 AND module = 'commuting' AND variant = ''", lab)
	if kg != 0 || !near(km, 4*2*5*45*7) {
		t.Fatalf("cyclists: %v kg, %v passenger-km, want 0 and %v", kg, km, 4*2*5*45*7)
	}
}
