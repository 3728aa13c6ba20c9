// Package reportingbus builds the reports of labs and of the institution
// from calc's rollups, and decides who may see them.
package reportingbus

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Years a report may be asked for.
const (
	minYear = 1990
	maxYear = 2100
)

// Calc is what reporting asks calc (ReportDataService, with the service
// identity).
type Calc interface {
	ListRollups(ctx context.Context, labIDs []string, years []int32) (ReportData, error)
	ListLabYears(ctx context.Context, labIDs []string) ([]int32, error)
	YearTotals(ctx context.Context, year int32) ([]LabTotals, error)
}

// Labs is what reporting asks labs.
type Labs interface {
	// SubLabs returns the children of labID the caller can see (as the
	// caller).
	SubLabs(ctx context.Context, labID string) ([]string, error)
	// Names returns the code and name of each of labIDs (as the service).
	Names(ctx context.Context, labIDs []string) (map[string]LabName, error)
}

// Reports answers the report queries.
type Reports struct {
	calc  Calc
	labs  Labs
	authz *authz.Authorizer
	now   func() time.Time
}

// NewReports returns the report queries.
func NewReports(calc Calc, labs Labs, authorizer *authz.Authorizer) *Reports {
	return &Reports{calc: calc, labs: labs, authz: authorizer, now: time.Now}
}

func errLabNotFound(labID string) error { return apperr.NotFound("no lab %s", labID) }

// ParseLabID checks a lab id from a request.
func ParseLabID(labID string) error {
	if _, err := uuid.Parse(labID); err != nil {
		return apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	return nil
}

// CheckYear checks a reporting year from a request.
func CheckYear(year int32) error {
	if year < minYear || year > maxYear {
		return apperr.Invalid("year", "give the reporting year, %d to %d (got %d)", minYear, maxYear, year)
	}
	return nil
}

// Authorize returns an error unless the caller may do action on labID.
func (r *Reports) Authorize(ctx context.Context, labID string, action authz.Action) error {
	if err := ParseLabID(labID); err != nil {
		return err
	}
	access, err := r.authz.For(ctx)
	if err != nil {
		return err
	}
	return access.Require(labID, action, errLabNotFound(labID))
}

// LabIDs returns labID and, when includeSublabs, all its descendants the
// caller can see.
func (r *Reports) LabIDs(ctx context.Context, labID string, includeSublabs bool) ([]string, error) {
	ids := []string{labID}
	if !includeSublabs {
		return ids, nil
	}
	seen := map[string]bool{labID: true}
	for next := 0; next < len(ids); next++ {
		children, err := r.labs.SubLabs(ctx, ids[next])
		if err != nil {
			return nil, fmt.Errorf("sub-labs of %s: %w", ids[next], err)
		}
		for _, child := range children {
			if !seen[child] {
				seen[child] = true
				ids = append(ids, child)
			}
		}
	}
	slices.Sort(ids[1:])
	return ids, nil
}

// Report returns the report of labID for year; year 0 is the latest year
// with data (NotFound when the lab has none).
func (r *Reports) Report(ctx context.Context, labID string, year int32, includeSublabs bool) (Report, error) {
	if err := r.Authorize(ctx, labID, authz.View); err != nil {
		return Report{}, err
	}
	if year != 0 {
		if err := CheckYear(year); err != nil {
			return Report{}, err
		}
	}
	ids, err := r.LabIDs(ctx, labID, includeSublabs)
	if err != nil {
		return Report{}, err
	}
	if year == 0 {
		years, err := r.calc.ListLabYears(ctx, ids)
		if err != nil {
			return Report{}, fmt.Errorf("years of lab %s: %w", labID, err)
		}
		if len(years) == 0 {
			return Report{}, apperr.NotFound("lab %s has no data yet: no year has activities; import or add some, or give the year", labID)
		}
		year = slices.Max(years)
	}
	data, err := r.calc.ListRollups(ctx, ids, []int32{year, year - 1})
	if err != nil {
		return Report{}, fmt.Errorf("rollups of lab %s: %w", labID, err)
	}
	return BuildReport(ids, year, includeSublabs, data, r.now()), nil
}

// Years returns the totals of every year of labID.
func (r *Reports) Years(ctx context.Context, labID string, includeSublabs bool) (ReportYears, error) {
	if err := r.Authorize(ctx, labID, authz.View); err != nil {
		return ReportYears{}, err
	}
	ids, err := r.LabIDs(ctx, labID, includeSublabs)
	if err != nil {
		return ReportYears{}, err
	}
	years, err := r.calc.ListLabYears(ctx, ids)
	if err != nil {
		return ReportYears{}, fmt.Errorf("years of lab %s: %w", labID, err)
	}
	if len(years) == 0 {
		return ReportYears{LabID: labID}, nil
	}
	var rollups []Rollup
	for start := 0; start < len(years); start += 100 {
		data, err := r.calc.ListRollups(ctx, ids, years[start:min(start+100, len(years))])
		if err != nil {
			return ReportYears{}, fmt.Errorf("rollups of lab %s: %w", labID, err)
		}
		rollups = append(rollups, data.Rollups...)
	}
	return BuildYears(labID, years, rollups), nil
}

// Ranking returns every lab of year ranked; admins and auditors only.
func (r *Reports) Ranking(ctx context.Context, year int32) (LabRanking, error) {
	access, err := r.authz.For(ctx)
	if err != nil {
		return LabRanking{}, err
	}
	if !access.CanEverywhere(authz.View) {
		return LabRanking{}, apperr.PermissionDenied("the institution view is for admins and auditors")
	}
	if err := CheckYear(year); err != nil {
		return LabRanking{}, err
	}
	totals, err := r.calc.YearTotals(ctx, year)
	if err != nil {
		return LabRanking{}, fmt.Errorf("year totals: %w", err)
	}
	ids := make([]string, 0, len(totals))
	for _, t := range totals {
		ids = append(ids, t.LabID)
	}
	names, err := r.labs.Names(ctx, ids)
	if err != nil {
		return LabRanking{}, fmt.Errorf("lab names: %w", err)
	}
	return BuildRanking(year, totals, names), nil
}
