package reportingdb

import (
	"context"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/reporting/internal/purgebus"
)

var _ purgebus.Store = (*Store)(nil)

func (s *Store) PurgeLabExports(ctx context.Context, labID uuid.UUID) (int64, error) {
	return s.queries.PurgeLabExports(ctx, labID)
}
