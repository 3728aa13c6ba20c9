package reportingbus

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/services/platform/csvout"
)

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
	err := calc.ExportRows(ctx, labIDs, year, func(batch []*calcv1.ExportRow) error {
		for _, row := range batch {
			inputs, err := decodeInputs(row.GetInputsJson())
			if err != nil {
				return fmt.Errorf("inputs of activity %s: %w", row.GetActivityId(), err)
			}
			if key := [2]string{row.GetModule(), row.GetKind()}; file == nil || key != current {
				if file != nil {
					if err := file.Flush(); err != nil {
						return err
					}
				}
				part, err := archive.Create(row.GetModule() + "/" + row.GetKind() + ".csv")
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
			record = append(record[:0], row.GetActivityId(), row.GetLabId(), row.GetSource(), strconv.FormatInt(row.GetRowNo(), 10))
			for _, name := range inputKeys {
				record = append(record, inputs[name])
				delete(inputs, name)
			}
			other := ""
			if len(inputs) > 0 {
				b, _ := json.Marshal(inputs)
				other = string(b)
			}
			record = append(record, other, row.GetVariant(), row.GetEmissionType(), strconv.Itoa(int(row.GetScope())),
				csvout.Float(row.GetQuantity()), row.GetQuantityUnit(), row.GetFactorId(), row.GetFactorDataset(),
				row.GetFactorVersion(), csvout.Float(row.GetFactorValue()), row.GetFactorUnit(),
				csvout.Float(row.GetUncertaintyPct()), strconv.FormatBool(row.GetOverridden()),
				strconv.FormatBool(row.GetFallback()), csvout.Float(row.GetKgCo2E()))
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
