// Package clients are reporting's Connect clients of calc and labs, behind
// the interfaces of reportingbus and exportbus.
package clients

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/exportbus"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// batchSize is the most ids one internal call carries.
const batchSize = 1000

// Calc calls calc's ReportDataService with the service identity.
type Calc struct {
	client calcv1connect.ReportDataServiceClient
}

var (
	_ reportingbus.Calc = (*Calc)(nil)
	_ exportbus.Calc    = (*Calc)(nil)
)

// NewCalc returns the client of calc at baseURL; options carry the service
// token.
func NewCalc(httpClient *http.Client, baseURL string, options ...connect.ClientOption) *Calc {
	return &Calc{client: calcv1connect.NewReportDataServiceClient(httpClient, baseURL, options...)}
}

// ListRollups implements reportingbus.Calc.
func (c *Calc) ListRollups(ctx context.Context, labIDs []string, years []int32) (reportingbus.ReportData, error) {
	var data reportingbus.ReportData
	for start := 0; start < len(labIDs); start += batchSize {
		res, err := c.client.ListRollups(ctx, connect.NewRequest(&calcv1.ListRollupsRequest{
			LabIds: labIDs[start:min(start+batchSize, len(labIDs))], Years: years,
		}))
		if err != nil {
			return data, err
		}
		for _, r := range res.Msg.GetRollups() {
			data.Rollups = append(data.Rollups, reportingbus.Rollup{
				LabID: r.GetLabId(), Year: r.GetYear(), Module: r.GetModule(), EmissionType: r.GetEmissionType(), Scope: r.GetScope(),
				Variant: r.GetVariant(), FactorDataset: r.GetFactorDataset(), FactorVersion: r.GetFactorVersion(),
				QuantityUnit: r.GetQuantityUnit(), Quantity: r.GetQuantity(), KgCO2e: r.GetKgCo2E(), UncertaintySq: r.GetUncertaintySq(),
				Entries: r.GetEntries(), Overridden: r.GetOverridden(), Fallback: r.GetFallback(),
				FactorID: r.GetFactorId(), UncertaintyLinear: r.GetUncertaintyLinear(),
			})
		}
		for _, c := range res.Msg.GetActivityCounts() {
			data.ActivityCounts = append(data.ActivityCounts, reportingbus.ActivityCount{
				LabID: c.GetLabId(), Year: c.GetYear(), Module: c.GetModule(), Kind: c.GetKind(), Source: c.GetSource(), Activities: c.GetActivities(),
			})
		}
		for _, v := range res.Msg.GetValidated() {
			data.Validated = append(data.Validated, reportingbus.ValidatedTotal{LabID: v.GetLabId(), Year: v.GetYear(), Module: v.GetModule(),
				KgCO2e: v.GetKgCo2E(), Activities: v.GetActivities()})
		}
		for _, c := range res.Msg.GetImportCounts() {
			data.ImportCounts = append(data.ImportCounts, reportingbus.ImportCount{LabID: c.GetLabId(), Year: c.GetYear(), Imports: c.GetImports()})
		}
	}
	return data, nil
}

// ListLabYears implements reportingbus.Calc.
func (c *Calc) ListLabYears(ctx context.Context, labIDs []string) ([]int32, error) {
	seen := map[int32]bool{}
	var years []int32
	for start := 0; start < len(labIDs); start += batchSize {
		res, err := c.client.ListLabYears(ctx, connect.NewRequest(&calcv1.ListLabYearsRequest{LabIds: labIDs[start:min(start+batchSize, len(labIDs))]}))
		if err != nil {
			return nil, err
		}
		for _, year := range res.Msg.GetYears() {
			if !seen[year] {
				seen[year] = true
				years = append(years, year)
			}
		}
	}
	slices.Sort(years)
	return years, nil
}

// YearTotals implements reportingbus.Calc.
func (c *Calc) YearTotals(ctx context.Context, year int32) ([]reportingbus.LabTotals, error) {
	res, err := c.client.YearTotals(ctx, connect.NewRequest(&calcv1.YearTotalsRequest{Year: year}))
	if err != nil {
		return nil, err
	}
	totals := make([]reportingbus.LabTotals, 0, len(res.Msg.GetLabs()))
	for _, t := range res.Msg.GetLabs() {
		totals = append(totals, reportingbus.LabTotals{LabID: t.GetLabId(), KgCO2e: t.GetKgCo2E(), UncertaintySq: t.GetUncertaintySq(), FTE: t.GetFte(), Entries: t.GetEntries()})
	}
	return totals, nil
}

// ExportRows implements exportbus.Calc.
func (c *Calc) ExportRows(ctx context.Context, labIDs []string, year int32, fn func([]exportbus.ExportRow) error) error {
	if len(labIDs) > batchSize {
		return errors.New("an export covers at most 1000 labs")
	}
	stream, err := c.client.ListActivitiesForExport(ctx, connect.NewRequest(&calcv1.ListActivitiesForExportRequest{LabIds: labIDs, Year: year}))
	if err != nil {
		return err
	}
	defer stream.Close()
	var batch []exportbus.ExportRow
	for stream.Receive() {
		batch = batch[:0]
		for _, r := range stream.Msg().GetRows() {
			batch = append(batch, exportbus.ExportRow{
				ActivityID: r.GetActivityId(), LabID: r.GetLabId(), Module: r.GetModule(), Kind: r.GetKind(), Source: r.GetSource(),
				RowNo: r.GetRowNo(), InputsJSON: r.GetInputsJson(), Variant: r.GetVariant(), EmissionType: r.GetEmissionType(),
				Scope: r.GetScope(), Quantity: r.GetQuantity(), QuantityUnit: r.GetQuantityUnit(), KgCO2e: r.GetKgCo2E(),
				FactorID: r.GetFactorId(), FactorDataset: r.GetFactorDataset(), FactorVersion: r.GetFactorVersion(),
				FactorValue: r.GetFactorValue(), FactorUnit: r.GetFactorUnit(), UncertaintyPct: r.GetUncertaintyPct(),
				Overridden: r.GetOverridden(), Fallback: r.GetFallback(),
			})
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return stream.Err()
}

// Labs calls labs: sub-labs and the caller's lab roles as the caller
// (whose view they are), lab names with the service identity.
type Labs struct {
	asCaller  labsv1connect.LabsServiceClient
	asService labsv1connect.LabsInternalServiceClient
}

var (
	_ reportingbus.Labs = (*Labs)(nil)
	_ authz.GrantSource = (*Labs)(nil)
)

// NewLabs returns the client of labs at baseURL; serviceOptions carry the
// service token.
func NewLabs(httpClient *http.Client, baseURL string, options, serviceOptions []connect.ClientOption) *Labs {
	callerOptions := append(append([]connect.ClientOption{}, options...), connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &Labs{
		asCaller:  labsv1connect.NewLabsServiceClient(httpClient, baseURL, callerOptions...),
		asService: labsv1connect.NewLabsInternalServiceClient(httpClient, baseURL, serviceOptions...),
	}
}

// SubLabs implements reportingbus.Labs.
func (l *Labs) SubLabs(ctx context.Context, labID string) ([]string, error) {
	var ids []string
	token := ""
	for {
		res, err := l.asCaller.ListLabs(ctx, connect.NewRequest(&labsv1.ListLabsRequest{ParentId: labID, PageSize: 100, PageToken: token}))
		if err != nil {
			return nil, err
		}
		for _, lab := range res.Msg.GetLabs() {
			ids = append(ids, lab.GetId())
		}
		token = res.Msg.GetNextPageToken()
		if token == "" {
			return ids, nil
		}
	}
}

// Names implements reportingbus.Labs.
func (l *Labs) Names(ctx context.Context, labIDs []string) (map[string]reportingbus.LabName, error) {
	names := make(map[string]reportingbus.LabName, len(labIDs))
	for start := 0; start < len(labIDs); start += batchSize {
		res, err := l.asService.BatchGetLabs(ctx, connect.NewRequest(&labsv1.BatchGetLabsRequest{Ids: labIDs[start:min(start+batchSize, len(labIDs))]}))
		if err != nil {
			return nil, err
		}
		for _, lab := range res.Msg.GetLabs() {
			names[lab.GetId()] = reportingbus.LabName{Code: lab.GetCode(), Name: lab.GetName()}
		}
	}
	return names, nil
}

// Grants returns the caller's lab roles (labs' GetMe, as the caller).
func (l *Labs) Grants(ctx context.Context, _ authn.Principal) ([]authz.Grant, error) {
	me, err := l.asCaller.GetMe(ctx, connect.NewRequest(&labsv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	return authz.GrantsOf(me.Msg.GetLabs()), nil
}

// Scenarios calls calc's ScenarioService as the caller.
type Scenarios struct {
	client calcv1connect.ScenarioServiceClient
}

var _ reportingbus.Scenarios = (*Scenarios)(nil)

// NewScenarios returns the client of calc at baseURL, which forwards the
// caller's token.
func NewScenarios(httpClient *http.Client, baseURL string, options ...connect.ClientOption) *Scenarios {
	callerOptions := append(append([]connect.ClientOption{}, options...), connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &Scenarios{client: calcv1connect.NewScenarioServiceClient(httpClient, baseURL, callerOptions...)}
}

// Scenario implements reportingbus.Scenarios.
func (s *Scenarios) Scenario(ctx context.Context, labID, scenarioID string) (reportingbus.Scenario, error) {
	res, err := s.client.GetScenario(ctx, connect.NewRequest(&calcv1.GetScenarioRequest{LabId: labID, ScenarioId: scenarioID}))
	if err != nil {
		return reportingbus.Scenario{}, err
	}
	found := res.Msg.GetScenario()
	out := reportingbus.Scenario{
		ID: found.GetId(), LabID: found.GetLabId(), Name: found.GetName(), Year: found.GetYear(), ComputedAt: found.GetComputedAt().AsTime(),
		FactorDataset: found.GetFactorDataset(), FactorVersion: found.GetFactorVersion(),
	}
	for _, r := range found.GetResults() {
		out.Rollups = append(out.Rollups, reportingbus.Rollup{
			LabID: found.GetLabId(), Year: found.GetYear(), Module: r.GetModule(), EmissionType: r.GetEmissionType(), Scope: r.GetScope(),
			Variant: r.GetVariant(), FactorDataset: r.GetFactorDataset(), FactorVersion: r.GetFactorVersion(), QuantityUnit: r.GetQuantityUnit(),
			Quantity: r.GetQuantity(), KgCO2e: r.GetKgCo2E(), UncertaintySq: r.GetUncertaintySq(), Entries: r.GetEntries(),
			Overridden: r.GetOverridden(), Fallback: r.GetFallback(), FactorID: r.GetFactorId(), UncertaintyLinear: r.GetUncertaintyLinear(),
		})
	}
	return out, nil
}
