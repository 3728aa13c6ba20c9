package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestTheBundledGridFileIsWhatTheScriptWrites(t *testing.T) {
	source, err := os.Open("owid-carbon-intensity-elec.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close()
	national, err := os.Open("../../services/calc/internal/factors/default.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer national.Close()
	var built bytes.Buffer
	if err := Build(source, national, &built); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../services/calc/internal/factors/grid.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built.Bytes(), committed) {
		t.Fatal("services/calc/internal/factors/grid.csv is not what tools/gridfactors writes from its sources: run make generate")
	}
}

func TestNationalFiguresWinOverTheGeneratedOnes(t *testing.T) {
	source := "country,iso_code,year,carbon_intensity_elec\nSwitzerland,CHE,2023,38.007\nGermany,DEU,2023,371.311\nGermany,DEU,2022,420.107\nBurundi,BDI,2004,0\n"
	national := strings.Join(factorHeader, ",") + "\n" +
		"default,9.9,electricity,electricity_grid,location,CH,2025,0.097,kWh,BAFU,x,y,life_cycle,,10\n"
	var out bytes.Buffer
	if err := Build(strings.NewReader(source), strings.NewReader(national), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Contains(out.String(), ",CH,") {
		t.Fatalf("a country with a national figure, or a zero placeholder, got generated rows, or one without none:\n%s", out.String())
	}
	if !strings.HasPrefix(lines[1], "default,9.9,electricity,electricity_grid,location,DE,2022,0.420107,kWh,") ||
		!strings.HasPrefix(lines[2], "default,9.9,electricity,electricity_grid,location,DE,2023,0.371311,kWh,") {
		t.Fatalf("rows not in the dataset's version, by year, in kg/kWh:\n%s", out.String())
	}
}

func TestBadSourceRowsStopTheBuild(t *testing.T) {
	national := strings.Join(factorHeader, ",") + "\ndefault,1,x,y,z,,2020,1,kWh,s,l,g,combustion,,1\n"
	for name, row := range map[string]string{
		"not a country": "Nowhere,XYZ,2023,1\n",
		"not a number":  "Germany,DEU,2023,lots\n",
		"negative":      "Germany,DEU,2023,-3\n",
		"twice":         "Germany,DEU,2023,1\nGermany,DEU,2023,2\n",
	} {
		err := Build(strings.NewReader("country,iso_code,year,carbon_intensity_elec\n"+row), strings.NewReader(national), &bytes.Buffer{})
		if err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestPerThousandMovesTheDecimalPoint(t *testing.T) {
	for grams, kg := range map[string]string{"344.14": "0.34414", "59.924": "0.059924", "1000": "1", "0": "0", "5": "0.005", "1234.5": "1.2345", "36.6": "0.0366"} {
		if got, err := perThousand(grams); err != nil || got != kg {
			t.Errorf("%s g: %q %v, want %q", grams, got, err, kg)
		}
	}
}
