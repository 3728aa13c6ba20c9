package datasetbus

import (
	"context"
	"errors"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Activated is what an activation did.
type Activated struct {
	Activations []Activation
	// Recalculations is how many lab/year/kind recalculations it queued.
	Recalculations int
	// Skipped are the closed lab years left as they were (none when
	// forced).
	Skipped []SkippedYear
}

// Activate makes a finished version compute years, and queues the
// recalculation of every lab/year/kind with activities in them; closed lab
// years are skipped unless force.
func (d *Datasets) Activate(ctx context.Context, dataset, version string, years []int32, force bool) (Activated, error) {
	activations, queued, skipped, err := d.activate(ctx, dataset, version, years, force)
	return Activated{Activations: activations, Recalculations: queued, Skipped: skipped}, err
}

func (d *Datasets) activate(ctx context.Context, dataset, version string, years []int32, force bool) ([]Activation, int, []SkippedYear, error) {
	access, err := d.requireAdmin(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	found, err := d.store.GetDatasetVersion(ctx, dataset, version)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil, apperr.NotFound("no factor dataset %s has a version %s", dataset, version)
	}
	if err != nil {
		return nil, 0, nil, err
	}
	if found.State != SyncFinished {
		return nil, 0, nil, apperr.FailedPrecondition("version %s %s is %s: only a FINISHED version can be activated", dataset, version, found.State)
	}
	if len(years) == 0 {
		return nil, 0, nil, apperr.Invalid("years", "give the years it computes, as {\"years\":[2025]}")
	}
	thisYear := int32(time.Now().Year())
	var activations []Activation
	seen := map[int32]bool{}
	for _, year := range years {
		if year < 1990 || year > thisYear+1 {
			return nil, 0, nil, apperr.Invalid("years", "%d is not a reporting year: give ones from 1990 to %d", year, thisYear+1)
		}
		if !seen[year] {
			seen[year] = true
			activations = append(activations, Activation{Year: year, Dataset: dataset, Version: version, ActivatedBy: access.Principal().Subject, ActivatedAt: time.Now()})
		}
	}
	targets, skipped, err := d.store.Activate(ctx, activations, force)
	if err != nil {
		return nil, 0, nil, err
	}
	d.logger.InfoContext(ctx, "factor dataset activated", "dataset", dataset, "version", version, "years", years,
		"recalculations", len(targets), "closed_years_skipped", len(skipped), "forced", force)
	d.asks.Queue(ctx, targets)
	return activations, len(targets), skipped, nil
}

// Resume queues what a stopped installation (or a Redis that lost its
// queue) left of the factor work: sync jobs not started, then
// recalculations asked and not done, at most batch of each, the oldest
// first (the next look takes the next ones once these are done). A task
// still waiting is left alone.
func (d *Datasets) Resume(ctx context.Context, batch int32) error {
	versions, err := d.store.QueuedSyncs(ctx, batch)
	if err != nil {
		return err
	}
	for _, id := range versions {
		if err := d.queue.EnqueueFactorsSync(ctx, id); err != nil {
			return err
		}
	}
	return d.asks.Resume(ctx, batch)
}
