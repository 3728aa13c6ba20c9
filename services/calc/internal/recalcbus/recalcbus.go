// Package recalcbus recomputes a lab/year/kind's emissions with the factors
// in force for its year when they change (an activation, a contract): the
// asks for it, the recalculation that answers them and keeps the emissions
// it replaces, and a lab's history of them.
package recalcbus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// Target is what one recalculation recomputes.
type Target struct {
	LabID uuid.UUID
	Year  int32
	Kind  string
}

// States of a recalculation.
const (
	StateFinished = "FINISHED"
	StateFailed   = "FAILED"
	// StateSkipped: the lab's year was closed and the ask not forced;
	// nothing changed.
	StateSkipped = "SKIPPED"
)

// Recalculation is one recalculation of a target.
type Recalculation struct {
	ID uuid.UUID
	Target
	FromVersions      []string
	To                factors.VersionRef
	Activities        int64
	KgBefore, KgAfter float64
	State, Message    string
	StartedAt         time.Time
	FinishedAt        time.Time
}

// SupersededEmission is an emission as it was before a recalculation.
type SupersededEmission struct {
	ledger.Emission
	RecalculationID uuid.UUID
	SupersededAt    time.Time
}

// ErrNotFound is what a store returns for a missing row.
var ErrNotFound = errors.New("not found")

// Queue wakes workers up for a recalculation.
type Queue interface {
	// EnqueueRecalculation queues a target's recalculation, once however
	// many ask (and once more when one is running).
	EnqueueRecalculation(ctx context.Context, target Target) error
}

// AskStore lists the recalculations asked for and not done.
type AskStore interface {
	// PendingRecalculations lists the (at most batch) targets whose asks
	// are not answered, the oldest first.
	PendingRecalculations(ctx context.Context, batch int32) ([]Target, error)
}

// Asks queue the recalculations that changes ask for (the asks themselves
// are written with the change, in its transaction).
type Asks struct {
	logger *slog.Logger
	store  AskStore
	queue  Queue
}

// NewAsks returns the asks over store and queue.
func NewAsks(logger *slog.Logger, store AskStore, queue Queue) *Asks {
	return &Asks{logger: logger, store: store, queue: queue}
}

// Queue queues recalculations; one that fails stays asked for in the
// store, and the safety net queues it.
func (a *Asks) Queue(ctx context.Context, targets []Target) {
	for _, target := range targets {
		if err := a.queue.EnqueueRecalculation(ctx, target); err != nil {
			a.logger.WarnContext(ctx, "recalculation not queued", "lab", target.LabID, "year", target.Year, "kind", target.Kind, "error", err)
		}
	}
}

// Resume queues the recalculations a stopped installation (or a Redis that
// lost its queue) left asked for and not done, at most batch, the oldest
// first (the next look takes the next ones once these are done). A task
// still waiting is left alone.
func (a *Asks) Resume(ctx context.Context, batch int32) error {
	targets, err := a.store.PendingRecalculations(ctx, batch)
	if err != nil {
		return err
	}
	a.Queue(ctx, targets)
	return nil
}
