package scenariobus

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// basisEnv is what a scenario is computed against, and the basis that
// names it: when the basis changes, the results are computed again.
type basisEnv struct {
	env   kinds.Env
	ref   factors.VersionRef
	basis string
}

// env builds the computation's environment as imports and recalculations
// do (the factors in force for the year, the lab's country and contract),
// with the scenario's own contract when a rule declares one.
func (s *Scenarios) env(ctx context.Context, tx Tx, sc Scenario, country string) (basisEnv, string, error) {
	env, ref, err := s.factors.Env(ctx, tx, country, sc.LabID, sc.Year)
	if err != nil {
		return basisEnv{}, "", err
	}
	if contract := contractOf(sc.Rules); contract != nil {
		env.Contract = contract
	}
	basis := ref.String() + "|" + country + "|"
	if c := env.Contract; c != nil {
		basis += c.Supplier + "|" + strconv.FormatFloat(c.KgPerKWh, 'g', -1, 64) + "|" + strconv.FormatFloat(c.UncertaintyPct, 'g', -1, 64) + "|" + c.Source
	}
	return basisEnv{env: env, ref: ref, basis: basis}, basis, nil
}

// compute computes the scenario with what is in force now.
func (s *Scenarios) compute(ctx context.Context, tx Tx, sc Scenario, country string) (Scenario, error) {
	env, basis, err := s.env(ctx, tx, sc, country)
	if err != nil {
		return Scenario{}, err
	}
	return s.computeWith(ctx, tx, sc, env, basis)
}

// computeWith computes every row of the scenario — copied rows through the
// rules, edited and added rows as given — by the kinds' formulas, sums the
// emissions as rollups do, and saves the sums.
func (s *Scenarios) computeWith(ctx context.Context, tx Tx, sc Scenario, be basisEnv, basis string) (Scenario, error) {
	edits, err := tx.Edits(ctx, sc.ID)
	if err != nil {
		return Scenario{}, err
	}
	c := newComputation(sc, be, basis, edits)
	if err := tx.StreamRows(ctx, sc.ID, s.cfg.Batch, c.rows); err != nil {
		return Scenario{}, err
	}
	return c.finish(ctx, tx, sc)
}

// computation sums a scenario's rows as they come (from its copy, or from
// the copying itself when it is made), on every core: each batch is split
// between workers, each with its own sums, merged at the end.
type computation struct {
	sc      Scenario
	be      basisEnv
	basis   string
	edits   []Edit
	edited  map[uuid.UUID]*Edit
	workers []*worker
}

// worker computes rows into sums of its own.
type worker struct {
	c       *computation
	env     kinds.Env
	sums    map[string]ledger.RollupSums
	matches []int64
	count   int64
	row     kinds.Row
	texts   map[string]string
}

// minSplit is the smallest batch worth splitting between workers.
const minSplit = 512

func newComputation(sc Scenario, be basisEnv, basis string, edits []Edit) *computation {
	c := &computation{sc: sc, be: be, basis: basis, edits: edits, edited: make(map[uuid.UUID]*Edit, len(edits))}
	for i := range edits {
		c.edited[edits[i].RowID] = &edits[i]
	}
	for range min(runtime.GOMAXPROCS(0), 4) {
		c.workers = append(c.workers, &worker{
			// Each its own memo of factor lookups: a map is not shared.
			c: c, env: be.env.Memoized(), sums: map[string]ledger.RollupSums{}, matches: make([]int64, len(sc.Rules)),
			row: kinds.Row{}, texts: map[string]string{},
		})
	}
	return c
}

// rows computes a batch of copied rows.
func (c *computation) rows(batch []Row) error {
	if len(batch) < minSplit || len(c.workers) == 1 {
		return c.workers[0].rows(batch)
	}
	share := (len(batch) + len(c.workers) - 1) / len(c.workers)
	errs := make([]error, len(c.workers))
	var wg sync.WaitGroup
	for i, w := range c.workers {
		from, to := min(i*share, len(batch)), min((i+1)*share, len(batch))
		wg.Go(func() { errs[i] = w.rows(batch[from:to]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err // the first rows' first
		}
	}
	return nil
}

func (w *worker) add(kind *kinds.Kind, computed kinds.Activity) {
	module := w.sums[kind.Module]
	if module == nil {
		module = ledger.RollupSums{}
		w.sums[kind.Module] = module
	}
	for _, e := range computed.Emissions {
		emission := ledger.EmissionOf(uuid.Nil, w.c.sc.LabID, w.c.sc.Year, kind.Module, e)
		module.Add(&emission)
	}
	w.count++
}

// edit computes an edited or added row as given.
func (w *worker) edit(e *Edit) error {
	if e.Removed {
		return nil
	}
	kind, ok := catalog.Lookup(e.Kind)
	if !ok {
		return fmt.Errorf("row %s: unknown kind %q", e.RowID, e.Kind)
	}
	if err := ledger.RowOf(e.Inputs, kind, w.row); err != nil {
		return fmt.Errorf("row %s: %w", e.RowID, err)
	}
	computed, err := kind.Compute(w.row, w.env)
	if err != nil {
		return apperr.FailedPrecondition("the edited row %s (%s) cannot be computed with the factors in force for %d: %v", e.RowID, kind.Name, w.c.sc.Year, err)
	}
	w.add(kind, computed)
	return nil
}

// rows computes copied rows: edited ones as edited, the others through
// the rules.
func (w *worker) rows(batch []Row) error {
	for i := range batch {
		r := &batch[i]
		if e, ok := w.c.edited[r.ActivityID]; ok {
			if err := w.edit(e); err != nil {
				return err
			}
			continue
		}
		kind, ok := catalog.Lookup(r.Kind)
		if !ok {
			return fmt.Errorf("activity %s: unknown kind %q", r.ActivityID, r.Kind)
		}
		if err := ledger.InputTexts(r.Inputs, w.texts); err != nil {
			return fmt.Errorf("activity %s: %w", r.ActivityID, err)
		}
		ledger.RowFrom(w.texts, kind, w.row)
		out := apply(w.c.sc.Rules, kind, w.texts, w.row, w.matches)
		if out.removed {
			continue
		}
		computed, err := out.kind.Compute(w.row, w.env)
		if err != nil {
			return rowError(w.c.sc, r.ActivityID, kind, out, err)
		}
		w.add(out.kind, computed)
	}
	return nil
}

// finish computes the added rows, merges the workers' sums and saves them
// as sc's results.
func (c *computation) finish(ctx context.Context, tx Tx, sc Scenario) (Scenario, error) {
	first := c.workers[0]
	for i := range c.edits {
		if c.edits[i].Added {
			if err := first.edit(&c.edits[i]); err != nil {
				return Scenario{}, err
			}
		}
	}
	for _, w := range c.workers[1:] {
		for module, sums := range w.sums {
			into := first.sums[module]
			if into == nil {
				into = ledger.RollupSums{}
				first.sums[module] = into
			}
			for key, sum := range sums {
				into.Sum(key).Merge(sum, 1)
			}
		}
		for i, n := range w.matches {
			first.matches[i] += n
		}
		first.count += w.count
	}
	now := time.Now()
	sc.ComputedRevision, sc.ComputedBasis, sc.Factors, sc.ComputedAt = sc.Revision, c.basis, c.be.ref, &now
	sc.ComputedRows, sc.RuleMatches = first.count, first.matches
	results := resultsOf(first.sums)
	if err := tx.SaveResults(ctx, sc, results); err != nil {
		return Scenario{}, err
	}
	sc.Results = results
	return sc, nil
}

// rowError says why a row could not be computed: a rule that changed it
// made it wrong (the rule is the field to fix), or the factors in force
// no longer compute the copy.
func rowError(sc Scenario, activityID uuid.UUID, from *kinds.Kind, out applied, err error) error {
	if out.changedBy >= 0 {
		var field *kinds.FieldError
		if errors.As(err, &field) && out.kind != from {
			return apperr.Invalid(fmt.Sprintf("rules[%d]", out.changedBy), "turns activity %s (%s) into a %s row that cannot be computed: %s: %s (give rename)",
				activityID, from.Name, out.kind.Name, field.Column, field.Message)
		}
		return apperr.Invalid(fmt.Sprintf("rules[%d]", out.changedBy), "makes activity %s (%s) a row that cannot be computed: %v", activityID, from.Name, err)
	}
	return apperr.FailedPrecondition("activity %s (%s) of the scenario cannot be computed with the factors in force for %d: %v", activityID, from.Name, sc.Year, err)
}

// resultsOf flattens the sums, by module and key.
func resultsOf(sums map[string]ledger.RollupSums) []Result {
	var results []Result
	for module, keys := range sums {
		for key, sum := range keys {
			results = append(results, Result{Module: module, Key: key, Sum: *sum})
		}
	}
	slices.SortFunc(results, func(a, b Result) int {
		if a.Module != b.Module {
			if a.Module < b.Module {
				return -1
			}
			return 1
		}
		switch {
		case a.Key.Less(b.Key):
			return -1
		case b.Key.Less(a.Key):
			return 1
		}
		return 0
	})
	return results
}

// Totals are what the scenario's results add up to, as a report's.
type Totals struct {
	KgCO2e, Scope1, Scope2Location, Scope2Market, Scope3 float64
}

// TotalsOf sums results: variant "" of scopes 1 to 3, and market-based
// scope 2 beside.
func TotalsOf(results []Result) Totals {
	var t Totals
	for _, r := range results {
		switch {
		case r.Key.Variant == "" && r.Key.Scope > 0:
			t.KgCO2e += r.Sum.KgCO2e
			switch r.Key.Scope {
			case 1:
				t.Scope1 += r.Sum.KgCO2e
			case 2:
				t.Scope2Location += r.Sum.KgCO2e
			case 3:
				t.Scope3 += r.Sum.KgCO2e
			}
		case r.Key.Variant == kinds.VariantMarketBased && r.Key.Scope == 2:
			t.Scope2Market += r.Sum.KgCO2e
		}
	}
	return t
}
