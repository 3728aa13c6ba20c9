package reportingapi

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/services/reporting/internal/reportingbus"
)

// The reports as the API shows them: every encoding (JSON, CSV, SVG) is
// made from these messages.

func totalToProto(t reportingbus.Total) *reportingv1.Total {
	return &reportingv1.Total{KgCo2E: t.KgCO2e, TCo2E: t.TCO2e, UncertaintyKg: t.UncertaintyKg, LowKgCo2E: t.LowKgCO2e, HighKgCo2E: t.HighKgCO2e}
}

func reportToProto(r reportingbus.Report) *reportingv1.Report {
	out := &reportingv1.Report{
		LabId: r.LabID, Year: r.Year, IncludeSublabs: r.IncludeSublabs, LabIds: r.LabIDs,
		Total: totalToProto(r.Total), Scope1: totalToProto(r.Scope1), Scope2LocationBased: totalToProto(r.Scope2LocationBased),
		Scope2MarketBased: totalToProto(r.Scope2MarketBased), Scope3: totalToProto(r.Scope3),
		Fte: r.FTE, KgCo2EPerFte: r.KgCO2ePerFTE, EquivalentCarKm: r.EquivalentCarKm, ChangePct: r.ChangePct,
		Entries: r.Entries, Imports: r.Imports, OverriddenShare: r.OverriddenShare, FallbackShare: r.FallbackShare,
		GeneratedAt: timestamppb.New(r.GeneratedAt), ValidatedKgCo2E: r.ValidatedKgCO2e, ValidatedShare: r.ValidatedShare,
		UncertaintyMethod: r.UncertaintyMethod,
	}
	if r.PreviousYear != nil {
		out.PreviousYear = totalToProto(*r.PreviousYear)
	}
	for _, m := range r.Modules {
		module := &reportingv1.ModuleTotal{Module: m.Module, Total: totalToProto(m.Total), Entries: m.Entries,
			ValidatedKgCo2E: m.ValidatedKgCO2e, ValidatedShare: m.ValidatedShare, ValidatedEntries: m.ValidatedEntries}
		for _, t := range m.EmissionTypes {
			module.EmissionTypes = append(module.EmissionTypes, &reportingv1.EmissionTypeTotal{
				EmissionType: t.EmissionType, Scope: t.Scope, Total: totalToProto(t.Total), Quantity: t.Quantity, QuantityUnit: t.QuantityUnit,
			})
		}
		out.Modules = append(out.Modules, module)
	}
	for _, v := range r.FactorVersions {
		out.FactorVersions = append(out.FactorVersions, &reportingv1.FactorVersion{Dataset: v.Dataset, Version: v.Version, Emissions: v.Emissions})
	}
	return out
}

func yearsToProto(y reportingbus.ReportYears) *reportingv1.ReportYears {
	out := &reportingv1.ReportYears{LabId: y.LabID}
	for _, year := range y.Years {
		out.Years = append(out.Years, &reportingv1.YearTotal{
			Year: year.Year, Total: totalToProto(year.Total), Scope1: totalToProto(year.Scope1),
			Scope2LocationBased: totalToProto(year.Scope2LocationBased), Scope3: totalToProto(year.Scope3),
			Fte: year.FTE, KgCo2EPerFte: year.KgCO2ePerFTE, ChangePct: year.ChangePct,
		})
	}
	return out
}

func rankingToProto(r reportingbus.LabRanking) *reportingv1.LabRanking {
	out := &reportingv1.LabRanking{Year: r.Year}
	for _, lab := range r.Labs {
		out.Labs = append(out.Labs, &reportingv1.RankedLab{
			Rank: lab.Rank, LabId: lab.LabID, LabCode: lab.LabCode, LabName: lab.LabName, Total: totalToProto(lab.Total),
			Fte: lab.FTE, KgCo2EPerFte: lab.KgCO2ePerFTE, RankPerFte: lab.RankPerFTE,
		})
	}
	return out
}
