package recalcbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// Labs tells a lab's country (for electricity factors).
type Labs interface {
	Country(ctx context.Context, labID uuid.UUID) (string, error)
}

// Store is what recalculations need from storage.
type Store interface {
	// RecalcRequest returns how many recalculations of a target were asked
	// and which ask the last one answered.
	RecalcRequest(ctx context.Context, target Target) (requested, done int64, err error)
	// InRecalcTx runs fn in one transaction.
	InRecalcTx(ctx context.Context, fn func(tx Tx) error) error
	// RecordRecalculation records a recalculation outside any transaction
	// (a failed one) and marks the ask answered.
	RecordRecalculation(ctx context.Context, recalculation Recalculation, answered int64) error
}

// Tx replaces a target's emissions.
type Tx interface {
	// Reader reads the factors in force on the transaction's connection.
	factorbus.Reader
	// ShareYear holds the lab's year against a close until the
	// transaction ends and says whether it is open.
	ShareYear(ctx context.Context, labID uuid.UUID, year int32) (open bool, err error)
	// RecalcForced says whether an admin forced the target's asks (a
	// closed year is then recalculated too).
	RecalcForced(ctx context.Context, target Target) (bool, error)
	// LockTarget serialises the writers of a lab/year/kind's emissions
	// (imports, recalculations) until the transaction ends.
	LockTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	CopyEmissions(ctx context.Context, next func() (*ledger.Emission, error)) (int64, error)
	// ApplyRollups adds every delta to the lab's rollups in one pass.
	ApplyRollups(ctx context.Context, labID uuid.UUID, deltas ...ledger.RollupDelta) error
	// RecalcRequest reads the target's asks within the transaction.
	RecalcRequest(ctx context.Context, target Target) (requested, done int64, err error)
	// LockEntries waits for the single entries of a lab/year/kind being
	// written and holds off new ones until the transaction ends.
	LockEntries(ctx context.Context, labID uuid.UUID, year int32, kind string) error
	// StreamActivities hands the target's activities to fn a batch at a
	// time (a cursor: never the whole target in memory).
	StreamActivities(ctx context.Context, target Target, batch int, fn func([]ledger.Activity) error) error
	// SupersedeTarget moves the target's emissions to the superseded table
	// under recalculationID and returns what they added to the rollups, by
	// module.
	SupersedeTarget(ctx context.Context, recalculationID uuid.UUID, target Target) (map[string]ledger.RollupSums, error)
	// RecordRecalculation records it and marks the ask answered.
	RecordRecalculation(ctx context.Context, recalculation Recalculation, answered int64) error
	// Record appends an event to the audit trail in the transaction.
	Record(ctx context.Context, event audit.Event) error
}

// ResourceRecalculation names recalculations in the audit trail: the asks
// are recorded with the change that made them (an activation, a contract),
// the finished recalculation of each lab/year/kind by the worker.
const ResourceRecalculation = "recalculation"

// Config tunes recalculations.
type Config struct {
	// Batch is how many activities are recomputed per round trip.
	Batch int `env:"RECALC_BATCH, default=5000"`
}

// Recalculator recomputes a lab/year/kind's emissions with the factors in
// force for its year.
type Recalculator struct {
	logger  *slog.Logger
	store   Store
	labs    Labs
	factors *factorbus.Cache
	cfg     Config
	// durations times each round, by kind and state.
	durations metric.Float64Histogram
}

// NewRecalculator returns a recalculator.
func NewRecalculator(logger *slog.Logger, store Store, labs Labs, factorCache *factorbus.Cache, cfg Config) *Recalculator {
	// A failure leaves a no-op instrument (the SDK logs it), never nil.
	durations, _ := otel.Meter("co2-calculator/calc").Float64Histogram("calc.recalc.duration", metric.WithUnit("s"),
		metric.WithDescription("Recalculations of a lab's year and kind, by kind and state (FINISHED, FAILED, SKIPPED, or error: retried)"),
		metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
	return &Recalculator{logger: logger, store: store, labs: labs, factors: factorCache, cfg: cfg, durations: durations}
}

// Recalculate recomputes target until every ask made of it is answered: an
// activation made while it runs is recomputed by the next round.
func (r *Recalculator) Recalculate(ctx context.Context, target Target) error {
	for round := 0; ; round++ {
		requested, done, err := r.store.RecalcRequest(ctx, target)
		if errors.Is(err, ErrNotFound) || (err == nil && done >= requested) {
			return nil
		}
		if err != nil {
			return err
		}
		if round >= 10 {
			return fmt.Errorf("recalculation of %v still asked for after %d rounds; left to the next task", target, round)
		}
		if err := r.once(ctx, target); err != nil {
			return err
		}
	}
}

// once recomputes the target in one transaction that holds it (imports of
// the same target wait, and it waits for them).
func (r *Recalculator) once(ctx context.Context, target Target) error {
	log := r.logger.With("lab", target.LabID, "year", target.Year, "kind", target.Kind)
	recalculation := Recalculation{ID: uuid.Must(uuid.NewV7()), Target: target, StartedAt: time.Now()}
	defer func() {
		state := recalculation.State
		if state == "" {
			state = "error" // not recorded: the ask stays and is queued again
		}
		r.durations.Record(ctx, time.Since(recalculation.StartedAt).Seconds(),
			metric.WithAttributes(attribute.String("kind", target.Kind), attribute.String("state", state)))
	}()
	kind, ok := catalog.Lookup(target.Kind)
	var requested int64
	fail := func(cause error) error {
		recalculation.State, recalculation.Message = StateFailed, cause.Error()
		log.ErrorContext(ctx, "recalculation failed", "error", cause)
		return r.store.RecordRecalculation(context.WithoutCancel(ctx), recalculation, requested)
	}
	var err error
	if requested, _, err = r.store.RecalcRequest(ctx, target); err != nil {
		return err
	}
	if !ok {
		return fail(fmt.Errorf("unknown kind %q", target.Kind))
	}
	// Asked before the transaction opens: a labs outage must not hold the
	// target's lock. The ask stays unanswered, and is queued again.
	country, err := r.labs.Country(ctx, target.LabID)
	if err != nil {
		return fmt.Errorf("lab %s: %w", target.LabID, err)
	}
	var computeErr error
	// Where the time went, for the log: copy counts only the wait for a
	// COPY once its next batch is computed.
	var phases struct{ read, compute, supersede, copy time.Duration }
	err = r.store.InRecalcTx(ctx, func(tx Tx) error {
		// The year first, as every writer: a close waits for this, and a
		// closed year is left as it is unless an admin forced the ask.
		open, err := tx.ShareYear(ctx, target.LabID, target.Year)
		if err != nil {
			return err
		}
		if !open {
			forced, err := tx.RecalcForced(ctx, target)
			if err != nil {
				return err
			}
			if !forced {
				if requested, _, err = tx.RecalcRequest(ctx, target); err != nil {
					return err
				}
				recalculation.State = StateSkipped
				recalculation.Message = fmt.Sprintf("reporting year %d of lab %s is closed: its emissions were not recalculated (an admin's forced activation recalculates them)", target.Year, target.LabID)
				return tx.RecordRecalculation(ctx, recalculation, requested)
			}
		}
		// Imports of the target (its lock), then its single entries, in
		// that order, wait until this ends.
		if err := tx.LockTarget(ctx, target.LabID, target.Year, target.Kind); err != nil {
			return err
		}
		if err := tx.LockEntries(ctx, target.LabID, target.Year, target.Kind); err != nil {
			return err
		}
		// The asks counted now are answered by this round: the factors are
		// read after them, so an activation they count is in force, and
		// one committed later counts one more ask.
		if requested, _, err = tx.RecalcRequest(ctx, target); err != nil {
			return err
		}
		env, ref, err := r.factors.Env(ctx, tx, country, target.LabID, target.Year)
		if err != nil {
			computeErr = err
			return err
		}
		recalculation.To = ref
		// The old emissions go first, in one statement: what they added
		// to the rollups comes back, never the rows.
		started := time.Now()
		removed, err := tx.SupersedeTarget(ctx, recalculation.ID, target)
		if err != nil {
			return err
		}
		phases.supersede = time.Since(started)
		from := map[string]bool{}
		for _, sums := range removed {
			for key, sum := range sums {
				if key.Variant == "" {
					recalculation.KgBefore += sum.KgCO2e
				}
				if key.FactorDataset != "" {
					from[key.FactorDataset+" "+key.FactorVersion] = true
				}
			}
		}
		added := map[string]ledger.RollupSums{}
		values := kinds.Row{}
		compute := func(batch []ledger.Activity, emissions []ledger.Emission) ([]ledger.Emission, error) {
			for i := range batch {
				activity := &batch[i]
				if err := ledger.RowOf(activity.Inputs, kind, values); err != nil {
					computeErr = fmt.Errorf("activity %s: %w", activity.ID, err)
					return emissions, computeErr
				}
				computed, err := kind.Compute(values, env)
				if err != nil {
					computeErr = fmt.Errorf("activity %s: %w", activity.ID, err)
					return emissions, computeErr
				}
				sums := added[activity.Module]
				if sums == nil {
					sums = ledger.RollupSums{}
					added[activity.Module] = sums
				}
				for _, e := range computed.Emissions {
					emissions = append(emissions, ledger.EmissionOf(activity.ID, activity.LabID, activity.Year, activity.Module, e))
					sums.Add(&emissions[len(emissions)-1])
					if e.Variant == "" {
						recalculation.KgAfter += e.KgCO2e
					}
				}
			}
			recalculation.Activities += int64(len(batch))
			return emissions, nil
		}
		// A batch's emissions are written while the next batch is computed:
		// the connection is free between two fetches, the CPU during a COPY.
		var pending, spare []ledger.Emission
		fetched := time.Now()
		err = tx.StreamActivities(ctx, target, r.cfg.Batch, func(batch []ledger.Activity) error {
			phases.read += time.Since(fetched)
			started := time.Now()
			previous := pending
			copied := make(chan error, 1)
			go func() { copied <- copyEmissions(ctx, tx, previous) }()
			current, failed := compute(batch, spare[:0])
			phases.compute += time.Since(started)
			started = time.Now()
			copyErr := <-copied
			phases.copy += time.Since(started)
			fetched = time.Now()
			pending, spare = current, previous
			return errors.Join(failed, copyErr)
		})
		if err != nil {
			return err
		}
		started = time.Now()
		if err := copyEmissions(ctx, tx, pending); err != nil {
			return err
		}
		phases.copy += time.Since(started)
		var deltas []ledger.RollupDelta
		for module, sums := range removed {
			deltas = append(deltas, ledger.RollupDelta{Year: target.Year, Module: module, Sums: sums, Sign: -1})
		}
		for module, sums := range added {
			deltas = append(deltas, ledger.RollupDelta{Year: target.Year, Module: module, Sums: sums, Sign: 1})
		}
		if err := tx.ApplyRollups(ctx, target.LabID, deltas...); err != nil {
			return err
		}
		for version := range from {
			recalculation.FromVersions = append(recalculation.FromVersions, version)
		}
		slices.Sort(recalculation.FromVersions)
		recalculation.State = StateFinished
		if err := tx.RecordRecalculation(ctx, recalculation, requested); err != nil {
			return err
		}
		// One event per lab/year/kind recalculated, never one per activity.
		return tx.Record(ctx, audit.Event{
			LabID: target.LabID.String(), ResourceType: ResourceRecalculation, ResourceID: recalculation.ID.String(), Action: audit.ActionFinish,
			After: map[string]any{
				"lab_id": target.LabID, "year": target.Year, "kind": target.Kind, "from_versions": recalculation.FromVersions,
				"to_dataset": recalculation.To.Dataset, "to_version": recalculation.To.Version, "activities": recalculation.Activities,
				"kg_co2e_before": recalculation.KgBefore, "kg_co2e_after": recalculation.KgAfter,
			},
		})
	})
	if computeErr != nil {
		// Nothing was changed; the failure is recorded so the ask does not
		// loop, and a later activation asks again.
		return fail(computeErr)
	}
	if err != nil {
		return fmt.Errorf("recalculate %v: %w", target, err)
	}
	log.InfoContext(ctx, "recalculated", "activities", recalculation.Activities, "to", recalculation.To.String(),
		"kg_before", recalculation.KgBefore, "kg_after", recalculation.KgAfter,
		"took", time.Since(recalculation.StartedAt).Round(time.Millisecond).String(),
		"supersede", phases.supersede.Round(time.Millisecond).String(), "read", phases.read.Round(time.Millisecond).String(),
		"compute", phases.compute.Round(time.Millisecond).String(), "copy", phases.copy.Round(time.Millisecond).String())
	return nil
}

// copyEmissions writes emissions in one COPY (none: no round trip).
func copyEmissions(ctx context.Context, tx Tx, emissions []ledger.Emission) error {
	if len(emissions) == 0 {
		return nil
	}
	next := 0
	_, err := tx.CopyEmissions(ctx, func() (*ledger.Emission, error) {
		if next == len(emissions) {
			return nil, nil
		}
		next++
		return &emissions[next-1], nil
	})
	return err
}
