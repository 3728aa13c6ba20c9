package exportbus

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
)

// Calc is what an export asks calc (ReportDataService, with the service
// identity).
type Calc interface {
	// ExportRows calls fn with the batches of a lab-year's emissions, in
	// module, kind and activity order.
	ExportRows(ctx context.Context, labIDs []string, year int32, fn func([]ExportRow) error) error
}

// ExportRow is an emission with its activity and factor, as calc streams
// it for an export.
type ExportRow struct {
	ActivityID, LabID    string
	Module, Kind, Source string
	RowNo                int64
	// InputsJSON is the activity's inputs, a JSON object.
	InputsJSON                   string
	Variant, EmissionType        string
	Scope                        int32
	Quantity                     float64
	QuantityUnit                 string
	KgCO2e                       float64
	FactorID                     string
	FactorDataset, FactorVersion string
	FactorValue                  float64
	FactorUnit                   string
	UncertaintyPct               float64
	Overridden, Fallback         bool
}

// The columns of an export CSV around the activity's inputs.
var (
	exportLeadColumns  = []string{"activity_id", "lab_id", "source", "row_no"}
	exportTrailColumns = []string{
		"other_inputs", "variant", "emission_type", "scope", "quantity", "quantity_unit", "factor_id", "factor_dataset",
		"factor_version", "factor_value", "factor_unit", "uncertainty_pct", "overridden", "fallback", "kg_co2e",
	}
)

// WriteExportZIP writes the ZIP of a detailed export to w: one CSV per
// module and kind (<module>/<kind>.csv), a row per emission with the
// activity's inputs (input_<name> columns, taken from the kind's first
// activity; any others go to other_inputs as JSON), its factor, dataset
// version and emissions. It returns the number of rows written.
func WriteExportZIP(ctx context.Context, w io.Writer, calc Calc, labIDs []string, year int32) (int64, error) {
	archive := zip.NewWriter(w)
	var (
		file      *csvout.Writer
		current   [2]string
		inputKeys []string
		rows      int64
		record    []string
	)
	err := calc.ExportRows(ctx, labIDs, year, func(batch []ExportRow) error {
		for i := range batch {
			row := &batch[i]
			inputs, err := decodeInputs(row.InputsJSON)
			if err != nil {
				return fmt.Errorf("inputs of activity %s: %w", row.ActivityID, err)
			}
			if key := [2]string{row.Module, row.Kind}; file == nil || key != current {
				if file != nil {
					if err := file.Flush(); err != nil {
						return err
					}
				}
				part, err := archive.Create(row.Module + "/" + row.Kind + ".csv")
				if err != nil {
					return err
				}
				file, current = csvout.NewWriter(part), key
				inputKeys = inputKeys[:0]
				for name := range inputs {
					inputKeys = append(inputKeys, name)
				}
				slices.Sort(inputKeys)
				header := slices.Clone(exportLeadColumns)
				for _, name := range inputKeys {
					header = append(header, "input_"+name)
				}
				if err := file.Write(append(header, exportTrailColumns...)...); err != nil {
					return err
				}
			}
			record = append(record[:0], row.ActivityID, row.LabID, row.Source, strconv.FormatInt(row.RowNo, 10))
			for _, name := range inputKeys {
				record = append(record, inputs[name])
				delete(inputs, name)
			}
			other := ""
			if len(inputs) > 0 {
				b, _ := json.Marshal(inputs)
				other = string(b)
			}
			record = append(record, other, row.Variant, row.EmissionType, strconv.Itoa(int(row.Scope)),
				csvout.Float(row.Quantity), row.QuantityUnit, row.FactorID, row.FactorDataset,
				row.FactorVersion, csvout.Float(row.FactorValue), row.FactorUnit,
				csvout.Float(row.UncertaintyPct), strconv.FormatBool(row.Overridden),
				strconv.FormatBool(row.Fallback), csvout.Float(row.KgCO2e))
			if err := file.Write(record...); err != nil {
				return err
			}
			rows++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if file != nil {
		if err := file.Flush(); err != nil {
			return 0, err
		}
	}
	if err := archive.Close(); err != nil {
		return 0, err
	}
	return rows, nil
}

// decodeInputs turns an activity's inputs into cell texts: strings as they
// are, numbers as written, anything else as JSON.
func decodeInputs(text string) (map[string]string, error) {
	decoder := json.NewDecoder(bytes.NewReader([]byte(text)))
	decoder.UseNumber()
	var values map[string]any
	if err := decoder.Decode(&values); err != nil {
		return nil, err
	}
	cells := make(map[string]string, len(values))
	for name, value := range values {
		switch v := value.(type) {
		case nil:
			cells[name] = ""
		case string:
			cells[name] = v
		case json.Number:
			cells[name] = v.String()
		default:
			b, _ := json.Marshal(v)
			cells[name] = string(b)
		}
	}
	return cells, nil
}
