// Package ledger is what calc writes for an activity: its row, its
// emissions, and the sums they add to its lab's rollups. Imports, single
// entries and recalculations all write through these, so the same row gives
// the same records whichever path writes it.
package ledger

import (
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Where an activity came from.
const (
	SourceCSV   = "csv"   // a row of an import
	SourceEntry = "entry" // a single entry
)

// Activity is an activity as written.
type Activity struct {
	ID       uuid.UUID
	LabID    uuid.UUID
	Year     int32
	Module   string
	Kind     string
	Source   string
	ImportID *uuid.UUID
	RowNo    *int64
	// Inputs is the activity's inputs as a JSON object.
	Inputs []byte
}

// Emission is an emission as written.
type Emission struct {
	ActivityID   uuid.UUID
	Variant      string
	LabID        uuid.UUID
	Year         int32
	Module       string
	EmissionType string
	Scope        int16
	Quantity     float64
	QuantityUnit string
	KgCO2e       float64
	// FactorID is zero when no factor was used (an override, a measure).
	FactorID       uuid.UUID
	FactorDataset  string
	FactorVersion  string
	UncertaintyPct float64
	Overridden     bool
	Fallback       bool
}

// EmissionOf is a computed emission as written for an activity.
func EmissionOf(activityID, labID uuid.UUID, year int32, module string, e kinds.Emission) Emission {
	return Emission{
		ActivityID: activityID, Variant: e.Variant, LabID: labID, Year: year, Module: module, EmissionType: e.EmissionType,
		Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit, KgCO2e: e.KgCO2e,
		FactorID: e.Factor.ID, FactorDataset: e.Factor.Dataset, FactorVersion: e.Factor.Version,
		UncertaintyPct: e.Factor.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
	}
}

// CheckYear refuses years no report is made for.
func CheckYear(year int32) error {
	if thisYear := int32(time.Now().Year()); year < 1990 || year > thisYear+1 {
		return apperr.Invalid("year", "%d is not a reporting year: give one from 1990 to %d", year, thisYear+1)
	}
	return nil
}

// Activity states (ADR 019): every activity is written pending, and a
// validator validates or rejects it; a change makes it pending again.
const (
	StatePending   = "pending"
	StateValidated = "validated"
	StateRejected  = "rejected"
)

// Reporting year states: a closed year takes no write.
const (
	YearStateOpen   = "open"
	YearStateClosed = "closed"
)

// YearClosed is the error of a write to a closed year.
func YearClosed(labID uuid.UUID, year int32) error {
	return apperr.Conflict("reporting year %d of lab %s is closed: nothing can be written to it until an admin reopens it", year, labID)
}
