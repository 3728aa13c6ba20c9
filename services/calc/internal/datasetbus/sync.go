package datasetbus

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
)

// Sync loads a queued version's file into its factors. A file with any
// refused row loads nothing: the version FAILS with the rows' line, column
// and reason, and a corrected file is uploaded as a new version.
func (d *Datasets) Sync(ctx context.Context, versionID uuid.UUID) error {
	var version DatasetVersion
	var rejected int
	found, err := d.store.SyncVersion(ctx, versionID, func(queued DatasetVersion, file []byte) (DatasetVersion, []factors.Factor, []RowError) {
		version = queued
		all, rowErrors, total, err := parseDataset(file, version)
		version.RowsTotal = total
		version.RowsRejected = int64(len(rowErrors))
		rejected = len(rowErrors)
		switch {
		case err != nil:
			version.State, version.Message = SyncFailed, err.Error()
			all = nil
		case len(rowErrors) > 0:
			version.State = SyncFailed
			version.Message = fmt.Sprintf("%d of %d rows refused; nothing loaded: see the errors and upload a corrected file as a new version", len(rowErrors), total)
			all = nil
		case total == 0:
			version.State, version.Message = SyncFailed, "the file has no factor rows"
		default:
			version.State, version.Message = SyncFinished, fmt.Sprintf("%d factors loaded", len(all))
		}
		return version, all, rowErrors
	})
	if err != nil {
		return fmt.Errorf("factor sync %s: %w", versionID, err)
	}
	if !found {
		return nil
	}
	d.logger.InfoContext(ctx, "factor dataset synced", "dataset", version.Dataset, "version", version.Version,
		"state", version.State, "rows", version.RowsTotal, "rejected", rejected)
	return nil
}

// parseDataset reads every row, keeping each refused one's line, column
// and reason (the first 1000).
func parseDataset(file []byte, version DatasetVersion) ([]factors.Factor, []RowError, int64, error) {
	reader := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\ufeff"))))
	reader.FieldsPerRecord = -1
	header := factors.Header()
	if _, err := reader.Read(); err != nil {
		return nil, nil, 0, fmt.Errorf("the header cannot be read: %w", err)
	}
	var all []factors.Factor
	var rowErrors []RowError
	var total int64
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return all, rowErrors, total, nil
		}
		total++
		line, _ := reader.FieldPos(0)
		if err != nil {
			var parseErr *csv.ParseError
			if errors.As(err, &parseErr) {
				line = parseErr.StartLine
			}
			rowErrors = appendRowError(rowErrors, int64(line), "", err.Error())
			continue
		}
		if len(record) != len(header) {
			rowErrors = appendRowError(rowErrors, int64(line), "", fmt.Sprintf("%d fields, want %d (%s)", len(record), len(header), strings.Join(header, ",")))
			continue
		}
		factor, problems := parseFactor(record, version)
		for _, problem := range problems {
			rowErrors = appendRowError(rowErrors, int64(line), problem.Column, problem.Message)
		}
		if len(problems) == 0 {
			all = append(all, factor)
		}
	}
}

func appendRowError(rowErrors []RowError, line int64, column, message string) []RowError {
	if len(rowErrors) >= 1000 {
		return rowErrors
	}
	return append(rowErrors, RowError{Row: line, Column: column, Message: message})
}

var regionPattern = regexp.MustCompile(`^[A-Z]{2}$`)

var boundaries = []string{"combustion", "well_to_tank", "life_cycle"}

// parseFactor checks one row's every column.
func parseFactor(record []string, version DatasetVersion) (factors.Factor, []RowError) {
	var problems []RowError
	bad := func(column, format string, args ...any) {
		problems = append(problems, RowError{Column: column, Message: fmt.Sprintf(format, args...)})
	}
	field := func(i int) string { return strings.TrimSpace(record[i]) }
	f := factors.Factor{
		Dataset: field(0), Version: field(1), Kind: strings.ToLower(field(2)), EmissionType: strings.ToLower(field(3)),
		Classification: strings.ToLower(field(4)), Region: strings.ToUpper(field(5)), Unit: field(8), Source: field(9),
		Licence: field(10), GWPSet: field(11), Boundary: strings.ToLower(field(12)),
	}
	if f.Dataset != version.Dataset {
		bad("dataset", "%q: every row names the uploaded dataset %q", f.Dataset, version.Dataset)
	}
	if f.Version != version.Version {
		bad("version", "%q: every row names the uploaded version %q", f.Version, version.Version)
	}
	for _, required := range []struct{ column, value string }{{"kind", f.Kind}, {"emission_type", f.EmissionType}, {"unit", f.Unit}, {"source", f.Source}, {"licence", f.Licence}} {
		if required.value == "" {
			bad(required.column, "required")
		}
	}
	if f.Region != "" && !regionPattern.MatchString(f.Region) {
		bad("region", "%q is not an ISO 3166-1 alpha-2 country (or empty for anywhere)", field(5))
	}
	year, err := strconv.Atoi(field(6))
	if err != nil || year < 1900 || year > 2200 {
		bad("year", "%q is not a year", field(6))
	}
	f.Year = int32(year)
	if f.Value, err = strconv.ParseFloat(field(7), 64); err != nil || f.Value < 0 {
		bad("value", "%q is not a number ≥ 0 (kg CO2e per unit)", field(7))
	}
	if f.GWPSet == "" {
		f.GWPSet = "AR6"
	}
	if f.Boundary == "" {
		f.Boundary = "combustion"
	} else if !slices.Contains(boundaries, f.Boundary) {
		bad("boundary", "%q: one of %s", field(12), strings.Join(boundaries, ", "))
	}
	switch strings.ToLower(field(13)) {
	case "":
	case "true":
		rf := true
		f.RadiativeForcing = &rf
	case "false":
		rf := false
		f.RadiativeForcing = &rf
	default:
		bad("radiative_forcing", "%q: true, false or empty", field(13))
	}
	if field(14) != "" {
		if f.UncertaintyPct, err = strconv.ParseFloat(field(14), 64); err != nil || f.UncertaintyPct < 0 {
			bad("uncertainty_pct", "%q is not a percentage ≥ 0", field(14))
		}
	}
	return f, problems
}
