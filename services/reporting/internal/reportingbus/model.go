package reportingbus

import "time"

// Rollup is one of calc's rollups: a lab's total for a year, module,
// emission type, scope, variant, factor version and unit.
type Rollup struct {
	LabID         string
	Year          int32
	Module        string
	EmissionType  string
	Scope         int32
	Variant       string
	FactorDataset string
	FactorVersion string
	QuantityUnit  string
	// FactorID is the factor the emissions were computed with ("" for
	// none).
	FactorID      string
	Quantity      float64
	KgCO2e        float64
	UncertaintySq float64
	// UncertaintyLinear is the sum of the emissions' absolute
	// uncertainties, which one factor shares (ADR 026).
	UncertaintyLinear float64
	Entries           int64
	Overridden        int64
	Fallback          int64
}

// ActivityCount is how many activities of a kind and source a lab has in a
// year and module.
type ActivityCount struct {
	LabID                string
	Year                 int32
	Module, Kind, Source string
	Activities           int64
}

// ImportCount is how many imports wrote a lab's year.
type ImportCount struct {
	LabID   string
	Year    int32
	Imports int64
}

// ReportData is what a lab report is built from: the rollups, activity
// counts and import counts of the report's year and the year before.
type ReportData struct {
	Rollups        []Rollup
	ActivityCounts []ActivityCount
	ImportCounts   []ImportCount
	Validated      []ValidatedTotal
}

// ValidatedTotal is what a lab's validated activities of a year and module
// emit (variant "", scopes 1 to 3).
type ValidatedTotal struct {
	LabID      string
	Year       int32
	Module     string
	KgCO2e     float64
	Activities int64
}

// LabTotals are a lab's totals of a year, for the ranking.
type LabTotals struct {
	LabID         string
	KgCO2e        float64
	UncertaintySq float64
	FTE           float64
	Entries       int64
}

// LabName is a lab's code and name, for the ranking.
type LabName struct{ Code, Name string }

// Total is an amount of emissions with its uncertainty range.
type Total struct {
	KgCO2e, TCO2e         float64
	UncertaintyKg         float64
	LowKgCO2e, HighKgCO2e float64
}

// Report is a lab's report of a year.
type Report struct {
	LabID                                  string
	Year                                   int32
	IncludeSublabs                         bool
	LabIDs                                 []string
	Total, Scope1                          Total
	Scope2LocationBased, Scope2MarketBased Total
	Scope3                                 Total
	Modules                                []ModuleTotal
	FTE                                    float64
	KgCO2ePerFTE                           *float64
	EquivalentCarKm                        float64
	// PreviousYear and ChangePct are nil when the year before has no data.
	PreviousYear     *Total
	ChangePct        *float64
	Entries, Imports int64
	OverriddenShare  float64
	FallbackShare    float64
	FactorVersions   []FactorVersion
	// UncertaintyMethod says how the uncertainties were combined.
	UncertaintyMethod string
	GeneratedAt       time.Time
	// ValidatedKgCO2e is what the validated activities emit, beside
	// Total; ValidatedShare its share (0..1) of Total.
	ValidatedKgCO2e float64
	ValidatedShare  float64
}

// ModuleTotal is a module's share of a report.
type ModuleTotal struct {
	Module        string
	Total         Total
	EmissionTypes []EmissionTypeTotal
	Entries       int64
	// What the module's validated activities emit, its share (0..1) of
	// the module's total, and how many they are.
	ValidatedKgCO2e  float64
	ValidatedShare   float64
	ValidatedEntries int64
}

// EmissionTypeTotal is an emission type's share of a module.
type EmissionTypeTotal struct {
	EmissionType string
	Scope        int32
	Total        Total
	// Quantity is in QuantityUnit, or 0 when the unit is "mixed".
	Quantity     float64
	QuantityUnit string
}

// FactorVersion is a dataset version a report's emissions used.
type FactorVersion struct {
	Dataset, Version string
	Emissions        int64
}

// ReportYears are a lab's totals year by year.
type ReportYears struct {
	LabID string
	Years []YearTotal
}

// YearTotal is one year of ReportYears.
type YearTotal struct {
	Year                                       int32
	Total, Scope1, Scope2LocationBased, Scope3 Total
	FTE                                        float64
	KgCO2ePerFTE                               *float64
	ChangePct                                  *float64
}

// LabRanking is every lab of a year, ranked.
type LabRanking struct {
	Year int32
	Labs []RankedLab
}

// RankedLab is a lab's place in the ranking: by total, and by kg CO2e per
// FTE among those with a headcount (0: none).
type RankedLab struct {
	Rank             int32
	LabID            string
	LabCode, LabName string
	Total            Total
	FTE              float64
	KgCO2ePerFTE     *float64
	RankPerFTE       int32
}
