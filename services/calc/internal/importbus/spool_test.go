package importbus

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// The spool gives back every emission as it went in, field for field, in
// order, and sums them as sumsOf does, whether activities repeat their
// predecessor's templates or not.
func TestEmissionSpoolRoundTrip(t *testing.T) {
	factorA, factorB := uuid.New(), uuid.New()
	var emissions []ledger.Emission
	for i := range 5000 {
		activity := uuid.Must(uuid.NewV7())
		location := ledger.Emission{ActivityID: activity, EmissionType: "electricity", Scope: 2, Quantity: float64(i) + 0.5,
			QuantityUnit: "kWh", KgCO2e: float64(i) * 0.0125, FactorID: factorA, FactorDataset: "default",
			FactorVersion: "2025.1", UncertaintyPct: 10}
		market := location
		market.Variant, market.Fallback = "market_based", i%3 == 0
		if i%7 == 0 { // a template of its own now and then, and a row without a factor
			market.FactorID, market.FactorVersion, market.UncertaintyPct = factorB, fmt.Sprintf("v%d", i%11), 0
		}
		if i%13 == 0 {
			location.FactorID, location.Overridden, location.KgCO2e = uuid.UUID{}, true, 42
		}
		emissions = append(emissions, location, market)
		if i%17 == 0 { // an activity with a single emission
			emissions = emissions[:len(emissions)-1]
		}
	}

	roundTrip(t, emissions)
}

// A file whose every row is a combination of its own (an uncertainty per
// row) keeps the spool's memory bounded: past maxSpoolTemplates, templates
// are spelled out in the file, and still come back exact.
func TestEmissionSpoolKeepsMemoryBoundedWhateverTheFile(t *testing.T) {
	factor := uuid.New()
	emissions := make([]ledger.Emission, 3*maxSpoolTemplates)
	for i := range emissions {
		emissions[i] = ledger.Emission{ActivityID: uuid.Must(uuid.NewV7()), EmissionType: "research_facility", Scope: 3,
			Quantity: 0.5, QuantityUnit: "share", KgCO2e: float64(i), FactorID: factor, FactorDataset: "default",
			FactorVersion: "2025.1", UncertaintyPct: float64(i) / 7}
	}
	spool := roundTrip(t, emissions)
	if len(spool.templates) > maxSpoolTemplates || len(spool.index) > maxSpoolTemplates {
		t.Fatalf("%d templates kept in memory for %d distinct ones, want at most %d", len(spool.templates), len(emissions), maxSpoolTemplates)
	}
}

// roundTrip spools emissions (consecutive rows of one activity are its
// emissions), reads them back and checks them and their sums.
func roundTrip(t *testing.T, emissions []ledger.Emission) *emissionSpool {
	t.Helper()
	spool, err := newEmissionSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	sums := ledger.RollupSums{}
	position := 0
	for i := range emissions {
		if i > 0 && emissions[i].ActivityID != emissions[i-1].ActivityID {
			position = 0
		}
		if err := spool.add(position, &emissions[i], sums); err != nil {
			t.Fatal(err)
		}
		position++
	}
	if err := spool.rewind(); err != nil {
		t.Fatal(err)
	}
	for i, want := range emissions {
		var got ledger.Emission
		if err := spool.next(&got); err != nil {
			t.Fatalf("emission %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("emission %d came back as\n%+v\nwant\n%+v", i, got, want)
		}
	}
	var row ledger.Emission
	if err := spool.next(&row); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last emission: %v, want io.EOF", err)
	}

	want := ledger.SumsOf(emissions)
	if len(sums) != len(want) {
		t.Fatalf("%d rollups, want %d", len(sums), len(want))
	}
	for key, sum := range want {
		if got := sums[key]; got == nil || *got != *sum {
			t.Errorf("rollup %+v: %+v, want %+v", key, got, sum)
		}
	}
	return spool
}
