package exportbus

import (
	"context"
	"fmt"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// SweepExports is one pass of the retention: the ZIPs of exports done
// longer than EXPORT_RETENTION ago go, a batch at a time (safe with
// several reporting processes: exports are taken with SKIP LOCKED); the
// exports stay, expired, so their users learn what happened.
func (e *Exports) SweepExports(ctx context.Context) (int, error) {
	if e.cfg.Retention <= 0 {
		return 0, nil
	}
	expired, err := e.store.ExpireExports(ctx, e.cfg.Retention, e.cfg.RetentionBatch)
	if err != nil {
		return 0, fmt.Errorf("sweep export ZIPs: %w", err)
	}
	if len(expired) > 0 {
		e.logger.InfoContext(ctx, "ZIPs of finished exports deleted", "exports", len(expired), "retention", config.DurationText(e.cfg.Retention))
	}
	return len(expired), nil
}

// expired is what a download of an expired export answers.
func (e *Exports) expired(export Export) error {
	kept := "for the time EXPORT_RETENTION set then"
	if e.cfg.Retention > 0 {
		kept = config.DurationText(e.cfg.Retention) + " (EXPORT_RETENTION)"
	}
	return apperr.FailedPrecondition("export %s has expired: the ZIP of a finished export is kept %s and this one was deleted. Create a new export (POST /api/v1/reports/%s/exports)",
		export.ID, kept, export.LabID)
}
