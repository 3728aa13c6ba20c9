// Command gridfactors writes the bundled dataset's grid electricity factors
// for every country and year that Our World in Data's energy dataset has a
// carbon intensity for (owid-carbon-intensity-elec.csv, its columns
// country, iso_code, year and carbon_intensity_elec; CC BY 4.0), except the
// countries the hand-kept default.csv already has a national figure for:
// those national figures win (docs/adr/027-grid-factors-for-every-country.md).
// Run by `make generate`; a test checks the committed file is its output.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

func main() {
	source := flag.String("source", "tools/gridfactors/owid-carbon-intensity-elec.csv", "the extract of Our World in Data's energy dataset")
	national := flag.String("national", "services/calc/internal/factors/default.csv", "the hand-kept bundled factors (their national grid figures win)")
	out := flag.String("out", "services/calc/internal/factors/grid.csv", "the file to write")
	flag.Parse()
	if err := run(*source, *national, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gridfactors:", err)
		os.Exit(1)
	}
}

func run(sourcePath, nationalPath, outPath string) error {
	source, err := os.Open(sourcePath)
	if err != nil {
		return err
	}
	defer source.Close()
	national, err := os.Open(nationalPath)
	if err != nil {
		return err
	}
	defer national.Close()
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	if err := Build(source, national, out); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// UncertaintyPct is the uncertainty given to every generated factor: a
// production-based life-cycle intensity stands in for what a consumer's
// supply emits (trade and the year's own mix ignored), wider than the 10 %
// given to the national consumption figures.
const UncertaintyPct = "15"

// Build reads the extract and the hand-kept factors and writes the grid
// rows in the bundled file's format, sorted by country then year.
func Build(source, national io.Reader, w io.Writer) error {
	dataset, version, kept, err := nationalGrid(national)
	if err != nil {
		return fmt.Errorf("national factors: %w", err)
	}
	reader := csv.NewReader(source)
	header, err := reader.Read()
	if err != nil {
		return fmt.Errorf("source header: %w", err)
	}
	if want := []string{"country", "iso_code", "year", "carbon_intensity_elec"}; !slices.Equal(header, want) {
		return fmt.Errorf("source header %v, want %v", header, want)
	}
	type row struct {
		region string
		year   int
		fields []string
	}
	var rows []row
	seen := map[string]bool{}
	for line := 2; ; line++ {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("source line %d: %w", line, err)
		}
		name, iso3, yearText, grams := record[0], record[1], record[2], record[3]
		if grams == "" {
			continue
		}
		region, err := language.ParseRegion(iso3)
		if err != nil || !region.IsCountry() {
			return fmt.Errorf("source line %d: %q is not an ISO 3166-1 alpha-3 country", line, iso3)
		}
		alpha2 := region.String()
		year, err := strconv.Atoi(yearText)
		if err != nil || year < 2000 {
			return fmt.Errorf("source line %d: year %q", line, yearText)
		}
		kg, err := perThousand(grams)
		if err != nil {
			return fmt.Errorf("source line %d: %w", line, err)
		}
		// A zero is the dataset's placeholder where the generation mix is
		// unknown (no mix emits nothing over its life cycle): no figure.
		if kept[alpha2] || strings.Trim(grams, "0.") == "" {
			continue
		}
		key := alpha2 + yearText
		if seen[key] {
			return fmt.Errorf("source line %d: %s %d twice", line, iso3, year)
		}
		seen[key] = true
		rows = append(rows, row{alpha2, year, []string{
			dataset, version, "electricity", "electricity_grid", "location", alpha2, yearText, kg, "kWh",
			fmt.Sprintf("Our World in Data, energy dataset, carbon_intensity_elec (Ember; Energy Institute Statistical Review of World Energy): %s %d, life-cycle emissions of the electricity generated (%s g CO2e/kWh)", name, year, grams),
			"CC-BY-4.0", "AR5", "life_cycle", "", UncertaintyPct,
		}})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(a.region, b.region); c != 0 {
			return c
		}
		return a.year - b.year
	})
	writer := csv.NewWriter(w)
	if err := writer.Write(factorHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := writer.Write(r.fields); err != nil {
			return err
		}
	}
	writer.Flush()
	return writer.Error()
}

var factorHeader = []string{"dataset", "version", "kind", "emission_type", "classification", "region", "year", "value", "unit", "source", "licence", "gwp_set", "boundary", "radiative_forcing", "uncertainty_pct"}

// nationalGrid reads the hand-kept factors: their dataset and version, and
// the countries they have a location-based grid figure for.
func nationalGrid(r io.Reader) (dataset, version string, regions map[string]bool, err error) {
	reader := csv.NewReader(r)
	header, err := reader.Read()
	if err != nil {
		return "", "", nil, err
	}
	if !slices.Equal(header, factorHeader) {
		return "", "", nil, fmt.Errorf("header %v, want %v", header, factorHeader)
	}
	regions = map[string]bool{}
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", nil, err
		}
		if dataset == "" {
			dataset, version = record[0], record[1]
		}
		if record[2] == "electricity" && record[3] == "electricity_grid" && record[4] == "location" {
			regions[record[5]] = true
		}
	}
	if dataset == "" {
		return "", "", nil, errors.New("no factors")
	}
	return dataset, version, regions, nil
}

// perThousand turns grams into kilograms by moving the decimal point, so
// that 344.14 becomes exactly the text 0.34414 (no binary rounding).
func perThousand(grams string) (string, error) {
	whole, fraction, _ := strings.Cut(grams, ".")
	if whole == "" || strings.Trim(whole+fraction, "0123456789") != "" {
		return "", fmt.Errorf("carbon intensity %q is not a number ≥ 0", grams)
	}
	for len(whole) < 4 {
		whole = "0" + whole
	}
	whole, fraction = whole[:len(whole)-3], whole[len(whole)-3:]+fraction
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	fraction = strings.TrimRight(fraction, "0")
	if fraction == "" {
		return whole, nil
	}
	return whole + "." + fraction, nil
}
