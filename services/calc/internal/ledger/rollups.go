package ledger

import (
	"bytes"
	"strings"

	"github.com/google/uuid"
)

// RollupDelta is a change to a lab's rollups: sums added (Sign 1) or
// subtracted (Sign -1) for a year and module, and the number of activities
// of a kind and source that carry them.
type RollupDelta struct {
	Year       int32
	Module     string
	Sums       RollupSums
	Sign       float64
	Kind       string
	Source     string
	Activities int64
}

// RollupKey is a rollup's place within a lab/year/module.
type RollupKey struct {
	EmissionType  string
	Scope         int16
	Variant       string
	FactorDataset string
	FactorVersion string
	QuantityUnit  string
	// FactorID is the factor the emissions were computed with (zero
	// without one): its uncertainty is shared by all of them.
	FactorID uuid.UUID
}

// KeyOf is the rollup an emission counts in.
func KeyOf(e *Emission) RollupKey {
	return RollupKey{EmissionType: e.EmissionType, Scope: e.Scope, Variant: e.Variant,
		FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion, QuantityUnit: e.QuantityUnit, FactorID: e.FactorID}
}

// Less orders keys: every writer updates rollup rows in one order.
func (k RollupKey) Less(other RollupKey) bool {
	return k.compare(other) < 0
}

func (k RollupKey) compare(o RollupKey) int {
	if c := strings.Compare(k.EmissionType, o.EmissionType); c != 0 {
		return c
	}
	if k.Scope != o.Scope {
		return int(k.Scope) - int(o.Scope)
	}
	for _, pair := range [][2]string{{k.Variant, o.Variant}, {k.FactorDataset, o.FactorDataset}, {k.FactorVersion, o.FactorVersion}} {
		if c := strings.Compare(pair[0], pair[1]); c != 0 {
			return c
		}
	}
	if c := strings.Compare(k.QuantityUnit, o.QuantityUnit); c != 0 {
		return c
	}
	return bytes.Compare(k.FactorID[:], o.FactorID[:])
}

// RollupSum accumulates a rollup. Uncertainties add up two ways (ADR 026):
// UncertaintySq, the squares of the emissions' absolute uncertainties
// (independent figures: those without a factor), and UncertaintyLinear,
// their sum (a factor's uncertainty is shared by every emission computed
// with it: reports square it per factor).
type RollupSum struct {
	Quantity          float64
	KgCO2e            float64
	UncertaintySq     float64
	UncertaintyLinear float64
	Entries           int64
	Overridden        int64
	Fallback          int64
}

// Merge adds sign × other to s.
func (s *RollupSum) Merge(other *RollupSum, sign float64) {
	s.Quantity += sign * other.Quantity
	s.KgCO2e += sign * other.KgCO2e
	s.UncertaintySq += sign * other.UncertaintySq
	s.UncertaintyLinear += sign * other.UncertaintyLinear
	s.Entries += int64(sign) * other.Entries
	s.Overridden += int64(sign) * other.Overridden
	s.Fallback += int64(sign) * other.Fallback
}

// Add counts one emission in.
func (s *RollupSum) Add(e *Emission) {
	absolute := e.KgCO2e * e.UncertaintyPct / 100
	s.Quantity += e.Quantity
	s.KgCO2e += e.KgCO2e
	s.UncertaintySq += absolute * absolute
	s.UncertaintyLinear += absolute
	s.Entries++
	if e.Overridden {
		s.Overridden++
	}
	if e.Fallback {
		s.Fallback++
	}
}

// RollupSums are a lab/year/module's rollups being summed.
type RollupSums map[RollupKey]*RollupSum

// SumsOf totals emissions.
func SumsOf(emissions []Emission) RollupSums {
	sums := RollupSums{}
	for i := range emissions {
		sums.Add(&emissions[i])
	}
	return sums
}

// Add counts one emission in.
func (s RollupSums) Add(e *Emission) {
	s.Sum(KeyOf(e)).Add(e)
}

// Sum is key's rollup, added empty the first time.
func (s RollupSums) Sum(key RollupKey) *RollupSum {
	sum := s[key]
	if sum == nil {
		sum = &RollupSum{}
		s[key] = sum
	}
	return sum
}
