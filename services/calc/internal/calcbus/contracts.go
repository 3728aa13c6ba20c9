package calcbus

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// ContractRow is a lab's declared electricity supply for a year.
type ContractRow struct {
	LabID          uuid.UUID
	Year           int32
	Supplier       string
	KgPerKWh       float64
	UncertaintyPct float64
	Source         string
	UpdatedBy      string
	UpdatedAt      time.Time
}

// ContractStore keeps contracts.
type ContractStore interface {
	// UpsertContract and DeleteContract also ask, in the same transaction,
	// a recalculation of the lab's kinds of the year (those with
	// activities), and return them.
	UpsertContract(ctx context.Context, contract ContractRow, kinds []string) (ContractRow, []RecalcTarget, error)
	// GetContract returns ErrNotFound when the lab declared none that year.
	GetContract(ctx context.Context, labID uuid.UUID, year int32) (ContractRow, error)
	ListContracts(ctx context.Context, labID uuid.UUID) ([]ContractRow, error)
	DeleteContract(ctx context.Context, labID uuid.UUID, year int32, kinds []string) (bool, []RecalcTarget, error)
}

// Contracts are the labs' declared electricity supplies: lab managers set
// them (edit), members read them (view). A change recalculates the lab's
// market-based figures of the year, as a factor activation does.
type Contracts struct {
	logger *slog.Logger
	store  ContractStore
	authz  *authz.Authorizer
	queue  Queue
}

// NewContracts returns the contracts' rules.
func NewContracts(logger *slog.Logger, store ContractStore, authorizer *authz.Authorizer, queue Queue) *Contracts {
	return &Contracts{logger: logger, store: store, authz: authorizer, queue: queue}
}

// The largest credible grid or supplier factor: coal-fired generation is
// about 1 kg CO2e per kWh.
const maxKgPerKWh = 2

// Set declares the lab's contract for a year.
func (c *Contracts) Set(ctx context.Context, labID string, year int32, contract ContractRow) (ContractRow, error) {
	lab, access, err := c.require(ctx, labID, authz.Edit)
	if err != nil {
		return ContractRow{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return ContractRow{}, err
	}
	contract.Supplier, contract.Source = strings.TrimSpace(contract.Supplier), strings.TrimSpace(contract.Source)
	switch {
	case contract.Supplier == "":
		return ContractRow{}, apperr.Invalid("contract.supplier", "required: who supplies the electricity, or the contract's name")
	case contract.Source == "":
		return ContractRow{}, apperr.Invalid("contract.source", "required: where the factor comes from, e.g. the supplier's disclosure for the year")
	case contract.KgPerKWh < 0 || contract.KgPerKWh > maxKgPerKWh || contract.KgPerKWh != contract.KgPerKWh:
		return ContractRow{}, apperr.Invalid("contract.kg_co2e_per_kwh", "%g is out of range: from 0 to %d kg CO2e per kWh", contract.KgPerKWh, maxKgPerKWh)
	case contract.UncertaintyPct < 0 || contract.UncertaintyPct > 1000:
		return ContractRow{}, apperr.Invalid("contract.uncertainty_pct", "%g is out of range: from 0 to 1000 %%", contract.UncertaintyPct)
	}
	contract.LabID, contract.Year, contract.UpdatedBy = lab, year, access.Principal().Subject
	stored, targets, err := c.store.UpsertContract(ctx, contract, catalog.UsingLabElectricity())
	if err != nil {
		return ContractRow{}, err
	}
	enqueueRecalculations(ctx, c.logger, c.queue, targets)
	return stored, nil
}

// Get returns the lab's contract for a year.
func (c *Contracts) Get(ctx context.Context, labID string, year int32) (ContractRow, error) {
	lab, _, err := c.require(ctx, labID, authz.View)
	if err != nil {
		return ContractRow{}, err
	}
	contract, err := c.store.GetContract(ctx, lab, year)
	if errors.Is(err, ErrNotFound) {
		return ContractRow{}, apperr.NotFound("lab %s declared no electricity contract for %d", labID, year)
	}
	return contract, err
}

// List returns the lab's contracts by year.
func (c *Contracts) List(ctx context.Context, labID string) ([]ContractRow, error) {
	lab, _, err := c.require(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return c.store.ListContracts(ctx, lab)
}

// Delete withdraws the lab's contract for a year.
func (c *Contracts) Delete(ctx context.Context, labID string, year int32) error {
	lab, _, err := c.require(ctx, labID, authz.Edit)
	if err != nil {
		return err
	}
	deleted, targets, err := c.store.DeleteContract(ctx, lab, year, catalog.UsingLabElectricity())
	if err == nil && !deleted {
		return apperr.NotFound("lab %s declared no electricity contract for %d", labID, year)
	}
	enqueueRecalculations(ctx, c.logger, c.queue, targets)
	return err
}

func (c *Contracts) require(ctx context.Context, labID string, action authz.Action) (uuid.UUID, *authz.Access, error) {
	return requireLab(ctx, c.authz, labID, action)
}

// requireLab parses a lab id and checks the caller may act on the lab (a
// lab out of the caller's sight is not found).
func requireLab(ctx context.Context, authorizer *authz.Authorizer, labID string, action authz.Action) (uuid.UUID, *authz.Access, error) {
	access, err := authorizer.For(ctx)
	if err != nil {
		return uuid.UUID{}, nil, err
	}
	id, err := uuid.Parse(labID)
	if err != nil {
		return uuid.UUID{}, nil, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	return id, access, access.Require(id.String(), action, apperr.NotFound("no lab has id %s", labID))
}
