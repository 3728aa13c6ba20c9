// Package contractbus keeps the labs' declared electricity contracts
// (market-based scope 2): who may set and read them, what a credible one
// is, and the recalculation a change asks for.
package contractbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// ErrNotFound is what the store returns for a contract not declared.
var ErrNotFound = errors.New("not found")

// ErrYearClosed is what the store returns for a change to a closed year.
var ErrYearClosed = errors.New("year closed")

// Contract is a lab's declared electricity supply for a year.
type Contract struct {
	LabID          uuid.UUID `json:"lab_id"`
	Year           int32     `json:"year"`
	Supplier       string    `json:"supplier"`
	KgPerKWh       float64   `json:"kg_co2e_per_kwh"`
	UncertaintyPct float64   `json:"uncertainty_pct"`
	Source         string    `json:"source"`
	UpdatedBy      string    `json:"updated_by"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ResourceContract names contracts in the audit trail.
const ResourceContract = "electricity_contract"

// Event is the audit event of a change to a lab's contract of a year,
// before or after nil on the side of a declaration or a withdrawal. The
// store records it in the transaction of the change.
func Event(action string, labID uuid.UUID, year int32, before, after *Contract) audit.Event {
	event := audit.Event{LabID: labID.String(), ResourceType: ResourceContract, ResourceID: fmt.Sprintf("%s/%d", labID, year), Action: action}
	if before != nil {
		event.Before = *before
	}
	if after != nil {
		event.After = *after
	}
	return event
}

// Store keeps contracts.
type Store interface {
	// UpsertContract and DeleteContract also ask, in the same transaction,
	// a recalculation of the lab's kinds of the year (those with
	// activities), and return them; and record the change (Event) in the
	// audit trail.
	UpsertContract(ctx context.Context, contract Contract, kinds []string) (Contract, []recalcbus.Target, error)
	// GetContract returns ErrNotFound when the lab declared none that year.
	GetContract(ctx context.Context, labID uuid.UUID, year int32) (Contract, error)
	ListContracts(ctx context.Context, labID uuid.UUID) ([]Contract, error)
	DeleteContract(ctx context.Context, labID uuid.UUID, year int32, kinds []string) (bool, []recalcbus.Target, error)
}

// Contracts are the labs' declared electricity supplies: lab managers set
// them (edit), members read them (view). A change recalculates the lab's
// market-based figures of the year, as a factor activation does.
type Contracts struct {
	store Store
	authz *authz.Authorizer
	asks  *recalcbus.Asks
}

// NewContracts returns the contracts' rules.
func NewContracts(store Store, authorizer *authz.Authorizer, asks *recalcbus.Asks) *Contracts {
	return &Contracts{store: store, authz: authorizer, asks: asks}
}

// The largest credible grid or supplier factor: coal-fired generation is
// about 1 kg CO2e per kWh.
const maxKgPerKWh = 2

// Set declares the lab's contract for a year.
func (c *Contracts) Set(ctx context.Context, labID string, year int32, contract Contract) (Contract, error) {
	lab, access, err := c.authz.RequireLab(ctx, labID, authz.Edit)
	if err != nil {
		return Contract{}, err
	}
	if err := ledger.CheckYear(year); err != nil {
		return Contract{}, err
	}
	contract.Supplier, contract.Source = strings.TrimSpace(contract.Supplier), strings.TrimSpace(contract.Source)
	switch {
	case contract.Supplier == "":
		return Contract{}, apperr.Invalid("contract.supplier", "required: who supplies the electricity, or the contract's name")
	case contract.Source == "":
		return Contract{}, apperr.Invalid("contract.source", "required: where the factor comes from, e.g. the supplier's disclosure for the year")
	case contract.KgPerKWh < 0 || contract.KgPerKWh > maxKgPerKWh || contract.KgPerKWh != contract.KgPerKWh:
		return Contract{}, apperr.Invalid("contract.kg_co2e_per_kwh", "%g is out of range: from 0 to %d kg CO2e per kWh", contract.KgPerKWh, maxKgPerKWh)
	case contract.UncertaintyPct < 0 || contract.UncertaintyPct > 1000:
		return Contract{}, apperr.Invalid("contract.uncertainty_pct", "%g is out of range: from 0 to 1000 %%", contract.UncertaintyPct)
	}
	contract.LabID, contract.Year, contract.UpdatedBy = lab, year, access.Principal().Subject
	stored, targets, err := c.store.UpsertContract(ctx, contract, catalog.UsingLabElectricity())
	if errors.Is(err, ErrYearClosed) {
		return Contract{}, ledger.YearClosed(lab, year)
	}
	if err != nil {
		return Contract{}, err
	}
	c.asks.Queue(ctx, targets)
	return stored, nil
}

// Get returns the lab's contract for a year.
func (c *Contracts) Get(ctx context.Context, labID string, year int32) (Contract, error) {
	lab, _, err := c.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return Contract{}, err
	}
	contract, err := c.store.GetContract(ctx, lab, year)
	if errors.Is(err, ErrNotFound) {
		return Contract{}, apperr.NotFound("lab %s declared no electricity contract for %d", labID, year)
	}
	return contract, err
}

// List returns the lab's contracts by year.
func (c *Contracts) List(ctx context.Context, labID string) ([]Contract, error) {
	lab, _, err := c.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return c.store.ListContracts(ctx, lab)
}

// Delete withdraws the lab's contract for a year.
func (c *Contracts) Delete(ctx context.Context, labID string, year int32) error {
	lab, _, err := c.authz.RequireLab(ctx, labID, authz.Edit)
	if err != nil {
		return err
	}
	deleted, targets, err := c.store.DeleteContract(ctx, lab, year, catalog.UsingLabElectricity())
	if errors.Is(err, ErrYearClosed) {
		return ledger.YearClosed(lab, year)
	}
	if err == nil && !deleted {
		return apperr.NotFound("lab %s declared no electricity contract for %d", labID, year)
	}
	c.asks.Queue(ctx, targets)
	return err
}
