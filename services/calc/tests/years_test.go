package tests

import (
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yeardb"
)

// A year closed after an activation asked its recalculation is left as it
// is, the recalculation recorded SKIPPED with the reason; an admin's forced
// activation recalculates it.
func TestARecalculationOfAYearClosedMeanwhileIsSkippedUnlessForced(t *testing.T) {
	ctx := adminCtx
	logger, store, cache, authorizer, lab, labs, entries := newSwissLab(t)
	if _, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
		"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "350",
	}); err != nil {
		t.Fatal(err)
	}
	kWh := 168 * 350 * 52 / 1000.0
	total := func() (kg float64) {
		for _, r := range store.rollups(ctx, t, lab, 2025) {
			if r.Variant == "" {
				kg += r.KgCO2e
			}
		}
		return kg
	}

	datasets := swissGrid2(t, "calc-years-test", logger, store, authorizer, cache)
	if activated, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false); err != nil || activated.Recalculations != 1 || len(activated.Skipped) != 0 {
		t.Fatalf("activation of an open year: %+v, %v", activated, err)
	}
	// Closed before the recalculation ran.
	years := yeardb.NewStore(store.pool)
	if _, err := years.SetYear(ctx, lab, 2025, ledger.YearStateClosed, "manager"); err != nil {
		t.Fatal(err)
	}
	recalculator := recalcbus.NewRecalculator(logger, store.recalc, labs, cache, recalcbus.Config{Batch: 10})
	target := recalcbus.Target{LabID: lab, Year: 2025, Kind: "equipment"}
	if err := recalculator.Recalculate(ctx, target); err != nil {
		t.Fatal(err)
	}
	if kg := total(); !near(kg, kWh*0.097) {
		t.Fatalf("the closed year changed: %v kg, want %v", kg, kWh*0.097)
	}
	recalculations, err := store.recalc.ListRecalculations(ctx, lab, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if len(recalculations) != 1 || recalculations[0].State != recalcbus.StateSkipped || !strings.Contains(recalculations[0].Message, "reporting year 2025") {
		t.Fatalf("recalculations: %+v", recalculations)
	}

	// Now closed: an activation skips it and says so; forced, it does not.
	activated, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false)
	if err != nil || activated.Recalculations != 0 || len(activated.Skipped) != 1 || activated.Skipped[0] != (datasetbus.SkippedYear{LabID: lab, Year: 2025}) {
		t.Fatalf("activation of a closed year: %+v, %v", activated, err)
	}
	if activated, err = datasets.Activate(ctx, "grid", "2", []int32{2025}, true); err != nil || activated.Recalculations != 1 || len(activated.Skipped) != 0 {
		t.Fatalf("forced activation: %+v, %v", activated, err)
	}
	if err := recalculator.Recalculate(ctx, target); err != nil {
		t.Fatal(err)
	}
	if kg := total(); !near(kg, kWh*0.15) {
		t.Fatalf("forced: %v kg, want %v", kg, kWh*0.15)
	}
}
