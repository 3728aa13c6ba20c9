package charts

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
)

// paths returns the vertices of each stroked line of svg with stroke, in
// drawing coordinates (up is more).
func paths(t *testing.T, svg []byte, stroke string, dashed bool) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, m := range regexp.MustCompile(`<path d="(M[^"]*)" style="([^"]*)"`).FindAllStringSubmatch(string(svg), -1) {
		style := m[2]
		if !strings.Contains(style, "stroke:"+stroke) || strings.Contains(style, "dasharray") != dashed || strings.Contains(m[1], "A") {
			continue
		}
		var ys []float64
		for _, vertex := range regexp.MustCompile(`[ML]([-0-9.]+),([-0-9.]+)`).FindAllStringSubmatch(m[1], -1) {
			y, err := strconv.ParseFloat(vertex[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			ys = append(ys, y)
		}
		out = append(out, ys)
	}
	return out
}

func TestTheTrajectoryChartShowsWhatIsAllowedAndWhatWasEmitted(t *testing.T) {
	view := &reportingv1.ObjectiveView{
		Objective:      &reportingv1.Objective{BaselineYear: 2024, TargetYear: 2030, ReductionPct: 50},
		BaselineKgCo2E: 10000,
	}
	actuals := map[int32]float64{2024: 10000, 2025: 9500, 2026: 10000}
	for year := int32(2024); year <= 2030; year++ {
		progress := &reportingv1.ObjectiveProgress{Year: year, AllowedKgCo2E: 10000 * (1 - 0.5*float64(year-2024)/6)}
		if actual, ok := actuals[year]; ok {
			progress.ActualKgCo2E = &actual
		}
		view.Years = append(view.Years, progress)
	}
	svg, err := Trajectory("Trajectory of LAB", view)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "trajectory.svg", svg)
	text := texts(t, svg)
	for _, want := range []string{"Trajectory of LAB", "Allowed: -50 % by 2030", "Actual", "Baseline 2024", "Target 2030", "2024", "2027", "2030", "t CO2e"} {
		if !strings.Contains(text, want) {
			t.Errorf("the chart does not say %q; its text:\n%s", want, text)
		}
	}
	// The allowed series: a dashed line through every year, going down to
	// half the baseline (in the legend too: a short sample of the line).
	var allowed []float64
	for _, ys := range paths(t, svg, "#D95F02", true) {
		if len(ys) > len(allowed) {
			allowed = ys
		}
	}
	if len(allowed) != 7 {
		t.Fatalf("the allowed line has %d points, want 7 (2024 to 2030)", len(allowed))
	}
	for i := 1; i < len(allowed); i++ {
		if allowed[i] >= allowed[i-1] {
			t.Fatalf("the allowed line does not go down year by year: %v", allowed)
		}
	}
	// The actual series: a solid line through the three years with data,
	// down in 2025 and back up in 2026.
	var actual []float64
	for _, ys := range paths(t, svg, "#2B6CB0", false) {
		if len(ys) > len(actual) {
			actual = ys
		}
	}
	if len(actual) != 3 || actual[0] != allowed[0] || actual[1] >= actual[0] || actual[2] != actual[0] {
		t.Fatalf("the actual line is %v, want 3 points starting on the baseline, down, then back", actual)
	}
}
