// Package factors holds emission factors: the bundled default dataset (a
// data file with every row's source and licence), and the lookup that picks
// the factor for an activity.
package factors

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Factor is one emission factor: kg CO2e per unit.
type Factor struct {
	ID               uuid.UUID
	Dataset          string
	Version          string
	Kind             string
	EmissionType     string
	Classification   string
	Region           string
	Year             int32
	Value            float64
	Unit             string
	Source           string
	Licence          string
	GWPSet           string
	Boundary         string
	RadiativeForcing *bool
	UncertaintyPct   float64
}

// Key is a factor's identity within a dataset version, without its year.
type Key struct {
	Kind, EmissionType, Classification, Region string
}

// VersionRef names a dataset version.
type VersionRef struct {
	Dataset, Version string
}

func (v VersionRef) String() string { return v.Dataset + " " + v.Version }

// Bundled is the dataset version bundled with the calculator (default.csv,
// kept by hand, and grid.csv, written by tools/gridfactors from Our World
// in Data's carbon intensities): it computes every year without an
// activation.
var Bundled = VersionRef{Dataset: "default", Version: "2026.2"}

var (
	//go:embed default.csv
	defaultCSV string
	//go:embed grid.csv
	gridCSV string
)

// Default parses the bundled default dataset.
func Default() ([]Factor, error) {
	kept, err := Parse(strings.NewReader(defaultCSV))
	if err != nil {
		return nil, fmt.Errorf("default.csv: %w", err)
	}
	grid, err := Parse(strings.NewReader(gridCSV))
	if err != nil {
		return nil, fmt.Errorf("grid.csv: %w", err)
	}
	return append(kept, grid...), nil
}

var header = []string{"dataset", "version", "kind", "emission_type", "classification", "region", "year", "value", "unit", "source", "licence", "gwp_set", "boundary", "radiative_forcing", "uncertainty_pct"}

// Header returns the columns of a factor dataset file, in order.
func Header() []string { return slices.Clone(header) }

// Parse reads a factor dataset in the bundled file's format.
func Parse(r io.Reader) ([]Factor, error) {
	reader := csv.NewReader(r)
	first, err := reader.Read()
	if err != nil {
		return nil, fmt.Errorf("factor dataset header: %w", err)
	}
	if strings.Join(first, ",") != strings.Join(header, ",") {
		return nil, fmt.Errorf("factor dataset header %v, want %v", first, header)
	}
	var all []Factor
	for line := 2; ; line++ {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("factor dataset line %d: %w", line, err)
		}
		year, err := strconv.Atoi(record[6])
		if err != nil {
			return nil, fmt.Errorf("factor dataset line %d: year %q", line, record[6])
		}
		value, err := strconv.ParseFloat(record[7], 64)
		if err != nil || value < 0 {
			return nil, fmt.Errorf("factor dataset line %d: value %q", line, record[7])
		}
		uncertainty, err := strconv.ParseFloat(record[14], 64)
		if err != nil || uncertainty < 0 {
			return nil, fmt.Errorf("factor dataset line %d: uncertainty %q", line, record[14])
		}
		factor := Factor{
			Dataset: record[0], Version: record[1], Kind: record[2], EmissionType: record[3], Classification: record[4],
			Region: record[5], Year: int32(year), Value: value, Unit: record[8], Source: record[9], Licence: record[10],
			GWPSet: record[11], Boundary: record[12], UncertaintyPct: uncertainty,
		}
		if record[13] != "" {
			rf := record[13] == "true"
			factor.RadiativeForcing = &rf
		}
		all = append(all, factor)
	}
}

// Set answers lookups over the factors of one dataset version.
type Set struct {
	byKey map[Key][]Factor
}

// NewSet indexes factors.
func NewSet(all []Factor) *Set {
	set := &Set{byKey: map[Key][]Factor{}}
	for _, factor := range all {
		key := Key{factor.Kind, factor.EmissionType, factor.Classification, factor.Region}
		set.byKey[key] = append(set.byKey[key], factor)
	}
	return set
}

// Lookup returns the factor of key for year: that year's, else the latest
// before it, else the earliest after it (a dataset rarely has every year).
func (s *Set) Lookup(key Key, year int32) (Factor, bool) {
	var before, after *Factor
	candidates := s.byKey[key]
	for i := range candidates {
		factor := &candidates[i]
		switch {
		case factor.Year == year:
			return *factor, true
		case factor.Year < year:
			if before == nil || factor.Year > before.Year {
				before = factor
			}
		default:
			if after == nil || factor.Year < after.Year {
				after = factor
			}
		}
	}
	switch {
	case before != nil:
		return *before, true
	case after != nil:
		return *after, true
	default:
		return Factor{}, false
	}
}

// Classifications lists the classifications key has factors for, without
// its classification, sorted.
func (s *Set) Classifications(key Key) []string {
	return s.alongside(key, func(k *Key) *string { return &k.Classification })
}

// Regions lists the regions key has factors for, without its region,
// sorted.
func (s *Set) Regions(key Key) []string {
	return s.alongside(key, func(k *Key) *string { return &k.Region })
}

// alongside lists the values one field of key takes among the factors that
// match key in every other field.
func (s *Set) alongside(key Key, field func(*Key) *string) []string {
	var found []string
	for candidate := range s.byKey {
		value := *field(&candidate)
		*field(&candidate) = *field(&key)
		if candidate == key {
			found = append(found, value)
		}
	}
	return sortedStrings(found)
}
