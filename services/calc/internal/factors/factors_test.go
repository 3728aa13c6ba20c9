package factors_test

import (
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

func TestTheDefaultDatasetCarriesSourcesAndLicences(t *testing.T) {
	all, err := factors.Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 9 {
		t.Fatalf("%d factors", len(all))
	}
	for _, factor := range all {
		if factor.Source == "" || factor.Licence == "" || factor.Unit == "" || factor.Value <= 0 {
			t.Errorf("incomplete factor %+v", factor)
		}
	}
}

func TestLookupPrefersTheYearThenTheLatestBefore(t *testing.T) {
	key := factors.Key{Kind: "electricity", EmissionType: "electricity_grid", Classification: "location", Region: "XX"}
	set := factors.NewSet([]factors.Factor{
		{Kind: "electricity", EmissionType: "electricity_grid", Classification: "location", Region: "XX", Year: 2019, Value: 1},
		{Kind: "electricity", EmissionType: "electricity_grid", Classification: "location", Region: "XX", Year: 2021, Value: 2},
		{Kind: "electricity", EmissionType: "electricity_grid", Classification: "location", Region: "XX", Year: 2023, Value: 3},
	})
	for year, want := range map[int32]float64{2021: 2, 2022: 2, 2030: 3, 2020: 1, 2010: 1, 2023: 3} {
		if got, ok := set.Lookup(key, year); !ok || got.Value != want {
			t.Errorf("year %d: %v, want %v", year, got.Value, want)
		}
	}
	if _, ok := set.Lookup(factors.Key{Kind: "x"}, 2020); ok {
		t.Error("an unknown key has no factor")
	}
}
