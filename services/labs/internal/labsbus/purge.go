package labsbus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// DataPurger removes a lab's data from one other service (its
// LabPurgeService), in one transaction there; calling it again for the
// same lab is harmless.
type DataPurger interface {
	// Service names the service, for messages.
	Service() string
	PurgeLabData(ctx context.Context, labID uuid.UUID) error
}

// WithPurgers sets the services a purge removes a lab's data from, in
// order: ingest first (its jobs go, so import workers stop before they
// commit), then calc, then reporting.
func (b *Business) WithPurgers(purgers ...DataPurger) *Business {
	b.purgers = purgers
	return b
}

// purge removes a lab for good (ADR 020). The lab must have no sub-lab,
// archived or not; it need not be archived first. It is marked first: from then on it no
// longer shows anywhere (reads, members' roles, other services' lookups),
// so nothing new is written to it. Then every other service deletes its
// data, then labs deletes the lab and its memberships. When a service
// fails, the lab stays marked and the call answers Unavailable: repeating
// it carries on from the mark. Purging a lab that is gone is NotFound.
func (b *Business) purge(ctx context.Context, labID uuid.UUID) (Lab, error) {
	var lab Lab
	err := b.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockHierarchy(ctx); err != nil {
			return err
		}
		var err error
		lab, err = tx.GetForPurge(ctx, labID)
		if err != nil {
			return notFound(err, labID.String())
		}
		if lab.PurgingAt != nil {
			return nil // a purge that stopped half-way: carry on
		}
		_, total, err := tx.CountSubLabs(ctx, labID)
		if err != nil {
			return err
		}
		if total > 0 {
			return apperr.FailedPrecondition("lab %s still has %d sub-lab(s), archived ones included: purge or move them first", lab.Code, total)
		}
		return tx.MarkPurging(ctx, labID)
	})
	if err != nil {
		return Lab{}, err
	}
	// No transaction is open while the other services work: each purges
	// in its own, and a slow one holds no lock here.
	for _, purger := range b.purgers {
		if err := purger.PurgeLabData(ctx, labID); err != nil {
			return Lab{}, errors.Join(apperr.Unavailable("lab %s is being purged, but the %s service did not remove its data (%s): "+
				"nothing new is written to the lab; repeat the purge", lab.Code, purger.Service(), oneLine(err)), err)
		}
	}
	err = b.store.InTx(ctx, func(tx Store) error {
		if _, err := tx.GetForPurge(ctx, labID); err != nil {
			return notFound(err, labID.String()) // purged meanwhile by a repeated call
		}
		if err := tx.Delete(ctx, labID); err != nil {
			return err
		}
		// The lab's trail goes with it; what stays is the purge itself.
		if err := tx.PurgeTrail(ctx, labID); err != nil {
			return err
		}
		return tx.Record(ctx, labEvent(audit.ActionPurge, &lab, nil))
	})
	return lab, err
}

func oneLine(err error) string {
	return strings.ReplaceAll(fmt.Sprint(err), "\n", " ")
}
