package tests

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue/jobqueuetest"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/entrybus"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcqueue"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// countries tells each lab's country, as the labs service would.
type countries map[uuid.UUID]string

func (c countries) Country(_ context.Context, labID uuid.UUID) (string, error) {
	if country, ok := c[labID]; ok {
		return country, nil
	}
	return "", fmt.Errorf("no lab %s", labID)
}

// noGrants: the tests run as an admin, whose role is global.
type noGrants struct{}

func (noGrants) Grants(context.Context, authn.Principal) ([]authz.Grant, error) { return nil, nil }

var adminCtx = authn.WithPrincipal(context.Background(), authn.Principal{Subject: "admin-1", Roles: []string{authn.RoleAdmin}})

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

const header = "dataset,version,kind,emission_type,classification,region,year,value,unit,source,licence,gwp_set,boundary,radiative_forcing,uncertainty_pct\n"

func TestAVersionChangeRecalculatesAndKeepsTheOldEmissions(t *testing.T) {
	ctx := adminCtx
	logger, store, cache, authorizer, lab, labs, entries := newSwissLab(t)

	// Three freezers of different powers, entered one by one, in 2025.
	var kWh float64
	for _, watts := range []float64{350, 500, 800} {
		if _, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
			"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": fmt.Sprint(watts),
		}); err != nil {
			t.Fatal(err)
		}
		kWh += 168 * watts * 52 / 1000
	}
	total := func() (kg float64, versions []string) {
		rollups := store.rollups(ctx, t, lab, 2025)
		for _, r := range rollups {
			if r.Variant == "" {
				kg += r.KgCO2e
				versions = append(versions, r.FactorDataset+" "+r.FactorVersion)
			}
		}
		return kg, versions
	}
	if kg, _ := total(); !near(kg, kWh*0.097) {
		t.Fatalf("total before: %v, want %v", kg, kWh*0.097)
	}

	tasks := jobqueuetest.New(t, "calc-test")
	queueName, inspector := tasks.Name(), tasks.Inspector
	queue := calcqueue.New(tasks.Queue, calcqueue.Config{RecalcDelay: 0})
	datasets := datasetbus.NewDatasets(logger, store.datasets, authorizer, queue, recalcbus.NewAsks(logger, store.recalc, queue), cache, datasetbus.Config{MaxUploadBytes: 1 << 20})
	csv := header + "grid,2,electricity,electricity_grid,location,CH,2025,0.15,kWh,test figure,CC0,AR6,life_cycle,,10\n"
	// The header arrives in two pieces.
	version, err := datasets.Upload(ctx, "grid", "2", "", io.MultiReader(strings.NewReader(csv[:40]), strings.NewReader(csv[40:])))
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.Sync(ctx, version.ID); err != nil {
		t.Fatal(err)
	}

	// Five activations in a row: one task waits for the target, and one
	// recalculation answers all five.
	for range 5 {
		if activated, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false); err != nil || activated.Recalculations != 1 {
			t.Fatalf("activate: %d queued, %v", activated.Recalculations, err)
		}
	}
	pending, err := inspector.ListPendingTasks(queueName)
	if err != nil {
		t.Fatal(err)
	}
	var recalcTasks []string
	for _, task := range pending {
		if task.Type == calcqueue.EmissionsRecalculateTask.Name() {
			recalcTasks = append(recalcTasks, task.ID)
		}
	}
	if len(recalcTasks) != 1 || recalcTasks[0] != calcqueue.RecalcTaskID(lab.String(), 2025, "equipment", false) {
		t.Fatalf("recalculation tasks queued: %v", recalcTasks)
	}

	recalculator := recalcbus.NewRecalculator(logger, store.recalc, labs, cache, recalcbus.Config{Batch: 2})
	target := recalcbus.Target{LabID: lab, Year: 2025, Kind: "equipment"}
	if err := recalculator.Recalculate(ctx, target); err != nil {
		t.Fatal(err)
	}
	kg, versions := total()
	if !near(kg, kWh*0.15) || strings.Join(versions, ",") != "grid 2" {
		t.Fatalf("total after: %v kg in %v, want %v kg in grid 2", kg, versions, kWh*0.15)
	}
	recalculations, err := store.recalc.ListRecalculations(ctx, lab, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if len(recalculations) != 1 {
		t.Fatalf("recalculations: %+v", recalculations)
	}
	r := recalculations[0]
	if r.State != datasetbus.SyncFinished || r.Activities != 3 || strings.Join(r.FromVersions, ",") != "default 2026.2" ||
		r.To != (factors.VersionRef{Dataset: "grid", Version: "2"}) || !near(r.KgBefore, kWh*0.097) || !near(r.KgAfter, kWh*0.15) {
		t.Fatalf("recalculation: %+v", r)
	}
	// Every activity keeps its old emissions (location- and market-based),
	// readable.
	page, err := entries.List(ctx, lab.String(), entrybus.Filter{}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, activity := range page.Activities {
		old, err := store.recalc.ListSupersededEmissions(ctx, activity.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(old) != 2 || old[0].FactorVersion != "2026.2" || old[0].RecalculationID != r.ID ||
			activity.Emissions[0].FactorVersion != "2" || !near(activity.Emissions[0].KgCO2e, old[0].KgCO2e/0.097*0.15) {
			t.Fatalf("activity %s: now %+v, before %+v", activity.ID, activity.Emissions, old)
		}
	}
	// Nothing more is asked: running again does nothing.
	if err := recalculator.Recalculate(ctx, target); err != nil {
		t.Fatal(err)
	}
	if again, _ := store.recalc.ListRecalculations(ctx, lab, 2025); len(again) != 1 {
		t.Fatalf("recalculations after a second run: %d", len(again))
	}
	// A new entry is computed with the version in force.
	activity, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
		"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": "100",
	})
	if err != nil || activity.Emissions[0].FactorDataset != "grid" {
		t.Fatalf("new entry: %+v, %v", activity.Emissions, err)
	}
}

func TestARecalculationThatCannotComputeARowChangesNothing(t *testing.T) {
	ctx := adminCtx
	logger, store, cache, authorizer, lab, labs, entries := newSwissLab(t)
	for watts := range 5 {
		if _, err := entries.Create(ctx, lab.String(), 2025, "equipment", map[string]string{
			"equipment_name": "Freezer", "category": "scientific", "active_hours_per_week": "168", "active_power_w": fmt.Sprint(100 * (watts + 1)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A row stored before a rule changed, which today's formula refuses.
	bad := uuid.Must(uuid.NewV7())
	if _, err := store.pool.Exec(ctx, `INSERT INTO calc.activities (id, lab_id, year, module, kind, source, inputs)
		VALUES ($1, $2, 2025, 'equipment', 'equipment', 'entry', '{"equipment_name":"Old","category":"it","active_hours_per_week":"many","active_power_w":"10"}')`,
		bad, lab); err != nil {
		t.Fatal(err)
	}
	stored := func() (rollups []string, emissions, superseded int) {
		for _, r := range store.rollups(ctx, t, lab, 2025) {
			rollups = append(rollups, fmt.Sprintf("%s %s %s %v %d", r.Variant, r.FactorDataset, r.FactorVersion, r.KgCO2e, r.Entries))
		}
		if err := store.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM calc.emissions WHERE lab_id = $1),
			(SELECT count(*) FROM calc.superseded_emissions WHERE lab_id = $1)`, lab).Scan(&emissions, &superseded); err != nil {
			t.Fatal(err)
		}
		return rollups, emissions, superseded
	}
	rollupsBefore, emissionsBefore, _ := stored()

	datasets := swissGrid2(t, "calc-test", logger, store, authorizer, cache)
	if _, err := datasets.Activate(ctx, "grid", "2", []int32{2025}, false); err != nil {
		t.Fatal(err)
	}
	// Two rows a batch: whichever batch holds the bad row, others were
	// already computed and written in the transaction.
	recalculator := recalcbus.NewRecalculator(logger, store.recalc, labs, cache, recalcbus.Config{Batch: 2})
	if err := recalculator.Recalculate(ctx, recalcbus.Target{LabID: lab, Year: 2025, Kind: "equipment"}); err != nil {
		t.Fatal(err)
	}
	recalculations, err := store.recalc.ListRecalculations(ctx, lab, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if len(recalculations) != 1 || recalculations[0].State != recalcbus.StateFailed || !strings.Contains(recalculations[0].Message, bad.String()) {
		t.Fatalf("recalculations: %+v", recalculations)
	}
	rollupsAfter, emissionsAfter, superseded := stored()
	if strings.Join(rollupsAfter, "; ") != strings.Join(rollupsBefore, "; ") || emissionsAfter != emissionsBefore || emissionsBefore != 10 || superseded != 0 {
		t.Fatalf("after a failed recalculation: rollups %v (before %v), %d emissions (before %d), %d superseded",
			rollupsAfter, rollupsBefore, emissionsAfter, emissionsBefore, superseded)
	}
}
