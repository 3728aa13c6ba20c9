package calcdb

import "context"

// StreamReportExportRows calls fn with each row of ReportExportRows as it
// arrives from the database, so an export of millions of emissions never
// sits in memory (the generated ReportExportRows collects them all).
func (q *Queries) StreamReportExportRows(ctx context.Context, arg ReportExportRowsParams, fn func(ReportExportRowsRow) error) error {
	rows, err := q.db.Query(ctx, reportExportRows, arg.LabIds, arg.Year)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i ReportExportRowsRow
		if err := rows.Scan(
			&i.ActivityID, &i.LabID, &i.Module, &i.Kind, &i.Source, &i.RowNo, &i.InputsJson, &i.Variant,
			&i.EmissionType, &i.Scope, &i.Quantity, &i.QuantityUnit, &i.KgCo2e, &i.FactorID, &i.FactorDataset,
			&i.FactorVersion, &i.FactorValue, &i.FactorUnit, &i.UncertaintyPct, &i.Overridden, &i.Fallback,
		); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return rows.Err()
}
