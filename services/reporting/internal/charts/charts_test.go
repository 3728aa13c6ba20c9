package charts

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
)

// keep writes svg to $CHARTS_OUT/name when it is set, to look at (README,
// development notes).
func keep(t *testing.T, name string, svg []byte) {
	t.Helper()
	dir := os.Getenv("CHARTS_OUT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// texts parses svg as XML and returns its text, failing if it does not parse.
func texts(t *testing.T, svg []byte) string {
	t.Helper()
	decoder := xml.NewDecoder(bytes.NewReader(svg))
	var all strings.Builder
	root := ""
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v", err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			if root == "" {
				root = token.Name.Local
			}
		case xml.CharData:
			all.Write(token)
			all.WriteString("\n")
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return all.String()
}

func total(kg, uncertainty float64) *reportingv1.Total {
	return &reportingv1.Total{KgCo2E: kg, TCo2E: kg / 1000, UncertaintyKg: uncertainty}
}

func TestChartsNameWhatTheyShow(t *testing.T) {
	report := &reportingv1.Report{
		Year: 2025, Total: total(1800, 50),
		Scope1: total(200, 0), Scope2LocationBased: total(1000, 30), Scope2MarketBased: total(400, 10), Scope3: total(600, 40),
		Modules: []*reportingv1.ModuleTotal{
			{Module: "equipment", Total: total(1000, 30)},
			{Module: "professional_travel", Total: total(600, 40)},
			{Module: "buildings", Total: total(200, 0)},
			{Module: "headcount", Total: total(0, 0)},
			{Module: "purchases", Total: total(0, 0)},
		},
	}
	svg, err := Modules(report)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "modules.svg", svg)
	text := texts(t, svg)
	for _, want := range []string{"Equipment", "Professional travel", "Buildings", "Headcount", "Purchases", "t CO2e", "Emissions by module, 2025 (total 1.80 t CO2e)"} {
		if !strings.Contains(text, want) {
			t.Errorf("module chart does not say %q; its text:\n%s", want, text)
		}
	}
	svg, err = Scopes(report)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "scopes.svg", svg)
	text = texts(t, svg)
	for _, want := range []string{"Scope 1", "Scope 2 (location-based)", "Scope 2 (market-based)", "Scope 3", "t CO2e"} {
		if !strings.Contains(text, want) {
			t.Errorf("scope chart does not say %q", want)
		}
	}
	svg, err = Trend(&reportingv1.ReportYears{Years: []*reportingv1.YearTotal{{Year: 2024, Total: total(1500, 0)}, {Year: 2025, Total: total(1800, 50)}}})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "trend.svg", svg)
	text = texts(t, svg)
	for _, want := range []string{"2024", "2025", "Emissions per year", "t CO2e"} {
		if !strings.Contains(text, want) {
			t.Errorf("trend chart does not say %q", want)
		}
	}
	svg, err = Modules(&reportingv1.Report{Year: 2030})
	if err != nil {
		t.Fatal(err)
	}
	if text := texts(t, svg); !strings.Contains(text, "no data") {
		t.Errorf("an empty report's chart does not say so:\n%s", text)
	}
}
