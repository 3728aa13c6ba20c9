package exportbus

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"testing"
)

// rowsCalc answers ExportRows with fixed batches (calc's stream is tested
// end to end in tools/e2e); the other methods are not used here.
type rowsCalc struct {
	batches [][]ExportRow
}

func (c rowsCalc) ExportRows(_ context.Context, _ []string, _ int32, fn func([]ExportRow) error) error {
	for _, batch := range c.batches {
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

// labA is a lab of the export.
const labA = "00000000-0000-0000-0000-00000000000a"

func TestExportZIPHasACSVPerModuleAndKind(t *testing.T) {
	row := func(id, module, kind, inputs string, kg float64) ExportRow {
		return ExportRow{ActivityID: id, LabID: labA, Module: module, Kind: kind, Source: "entry", InputsJSON: inputs,
			EmissionType: kind, Scope: 3, Quantity: 10, QuantityUnit: "km", KgCO2e: kg, FactorDataset: "default", FactorVersion: "2026.1"}
	}
	calc := rowsCalc{batches: [][]ExportRow{
		{
			row("a1", "professional_travel", "plane", `{"departure":"GVA","arrival":"LHR","trips":2}`, 100),
			row("a2", "professional_travel", "plane", `{"departure":"@SUM(A1)","arrival":"CDG","trips":1,"note":"=1+1"}`, 50),
		},
		{row("a3", "professional_travel", "train", `{"from":"Lausanne","to":"Bern"}`, 1.5)},
	}}
	var buf bytes.Buffer
	rows, err := WriteExportZIP(context.Background(), &buf, calc, []string{labA}, 2025)
	if err != nil || rows != 3 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	archive, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	var names []string
	for _, f := range archive.File {
		reader, _ := f.Open()
		records, err := csv.NewReader(reader).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = records
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"professional_travel/plane.csv", "professional_travel/train.csv"}) {
		t.Fatalf("files %v", names)
	}
	plane := files["professional_travel/plane.csv"]
	header := plane[0]
	column := func(name string) int { return slices.Index(header, name) }
	if column("input_arrival") < 0 || column("input_departure") < 0 || column("input_trips") < 0 || column("kg_co2e") < 0 {
		t.Fatalf("header %v", header)
	}
	if len(plane) != 3 || plane[1][column("input_trips")] != "2" || plane[1][column("kg_co2e")] != "100" {
		t.Fatalf("plane rows %v", plane)
	}
	// A formula is neutralised; an input beyond the first row's goes to
	// other_inputs as JSON (a cell beginning with {, no formula).
	if got := plane[2][column("input_departure")]; got != "'@SUM(A1)" {
		t.Errorf("departure %q", got)
	}
	if got := plane[2][column("other_inputs")]; got != `{"note":"=1+1"}` {
		t.Errorf("other inputs %q", got)
	}
	train := files["professional_travel/train.csv"]
	if len(train) != 2 || train[0][4] != "input_from" || train[1][4] != "Lausanne" {
		t.Fatalf("train rows %v", train)
	}
}
