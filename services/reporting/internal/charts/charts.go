// Package charts draws a report's charts as SVG with gonum/plot: emissions
// by module, by scope, and the multi-year trend, in tonnes of CO2e.
package charts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
)

// The size of every chart.
const (
	width  = 8 * vg.Inch
	height = 5 * vg.Inch
)

const unitLabel = "t CO2e"

// Charts use Liberation Sans, metrically compatible with Arial and
// Helvetica, so the labels a browser draws with those fonts fit the space
// the plot measured for them (gonum/plot's default is a serif face).
func init() {
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

// bar is one bar: a label, a value in tonnes and its uncertainty.
type bar struct {
	label             string
	tonnes, uncertain float64
}

// Modules draws the emissions of each module of report.
func Modules(report *reportingv1.Report) ([]byte, error) {
	bars := make([]bar, 0, len(report.GetModules()))
	for _, m := range report.GetModules() {
		bars = append(bars, bar{label: humanize(m.GetModule()), tonnes: m.GetTotal().GetTCo2E(), uncertain: m.GetTotal().GetUncertaintyKg() / 1000})
	}
	return draw2(fmt.Sprintf("Emissions by module, %d (total %.2f %s)", report.GetYear(), report.GetTotal().GetTCo2E(), unitLabel), "Module", bars, true)
}

// Scopes draws the emissions of each scope of report, scope 2 both
// location- and market-based.
func Scopes(report *reportingv1.Report) ([]byte, error) {
	total := func(label string, t *reportingv1.Total) bar {
		return bar{label: label, tonnes: t.GetTCo2E(), uncertain: t.GetUncertaintyKg() / 1000}
	}
	return draw2(fmt.Sprintf("Emissions by scope, %d", report.GetYear()), "GHG Protocol scope", []bar{
		total("Scope 1", report.GetScope1()),
		total("Scope 2 (location-based)", report.GetScope2LocationBased()),
		total("Scope 2 (market-based)", report.GetScope2MarketBased()),
		total("Scope 3", report.GetScope3()),
	}, true)
}

// Trend draws the total of every year.
func Trend(years *reportingv1.ReportYears) ([]byte, error) {
	bars := make([]bar, 0, len(years.GetYears()))
	for _, y := range years.GetYears() {
		bars = append(bars, bar{label: strconv.Itoa(int(y.GetYear())), tonnes: y.GetTotal().GetTCo2E(), uncertain: y.GetTotal().GetUncertaintyKg() / 1000})
	}
	return draw2("Emissions per year", "Year", bars, false)
}

// draw2 draws bars with their uncertainty as error bars: horizontal ones
// for named categories (long labels stay readable), vertical ones for years.
func draw2(title, categoryLabel string, bars []bar, horizontal bool) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(8)
	valueAxis, categoryAxis := &p.Y, &p.X
	if horizontal {
		valueAxis, categoryAxis = &p.X, &p.Y
	}
	categoryAxis.Label.Text = categoryLabel
	valueAxis.Label.Text = "Emissions (" + unitLabel + ")"
	valueAxis.Min = 0
	valueAxis.Tick.Marker = unitTicks{}
	if len(bars) == 0 {
		p.Title.Text = title + ": no data"
		bars = []bar{{label: "no data"}}
	}
	if horizontal {
		slices.Reverse(bars) // the first at the top
	}
	values := make(plotter.Values, len(bars))
	labels := make([]string, len(bars))
	lowHigh := make([]struct{ low, high float64 }, len(bars))
	top := 0.0
	for i, b := range bars {
		values[i], labels[i] = b.tonnes, b.label
		lowHigh[i].low, lowHigh[i].high = math.Min(b.uncertain, b.tonnes), b.uncertain
		top = math.Max(top, b.tonnes+b.uncertain)
	}
	chart, err := plotter.NewBarChart(values, vg.Points(28))
	if err != nil {
		return nil, fmt.Errorf("bar chart: %w", err)
	}
	chart.Horizontal = horizontal
	chart.Color = barColor
	chart.LineStyle.Width = 0
	p.Add(chart)
	points := make(plotter.XYs, len(bars))
	if horizontal {
		xErrs := make(plotter.XErrors, len(bars))
		for i := range bars {
			points[i].X, points[i].Y = values[i], float64(i)
			xErrs[i].Low, xErrs[i].High = lowHigh[i].low, lowHigh[i].high
		}
		whiskers, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{points, xErrs})
		if err != nil {
			return nil, fmt.Errorf("error bars: %w", err)
		}
		p.Add(whiskers)
		p.NominalY(labels...)
	} else {
		yErrs := make(plotter.YErrors, len(bars))
		for i := range bars {
			points[i].X, points[i].Y = float64(i), values[i]
			yErrs[i].Low, yErrs[i].High = lowHigh[i].low, lowHigh[i].high
		}
		whiskers, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{points, yErrs})
		if err != nil {
			return nil, fmt.Errorf("error bars: %w", err)
		}
		p.Add(whiskers)
		p.NominalX(labels...)
	}
	valueAxis.Max = math.Max(top*1.1, 1e-3)
	return render(p)
}

// render writes p as SVG, at the size of every chart.
func render(p *plot.Plot) ([]byte, error) {
	writer, err := p.WriterTo(width, height, "svg")
	if err != nil {
		return nil, fmt.Errorf("svg: %w", err)
	}
	var buf bytes.Buffer
	if _, err := writer.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("svg: %w", err)
	}
	return buf.Bytes(), nil
}

// barColor is a blue that prints well in colour and in grey.
var barColor = color.RGBA{R: 0x2b, G: 0x6c, B: 0xb0, A: 0xff}

// unitTicks are the default ticks labelled without exponents.
type unitTicks struct{}

func (unitTicks) Ticks(low, high float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(low, high)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = formatTonnes(ticks[i].Value)
		}
	}
	return ticks
}

func formatTonnes(t float64) string {
	return strconv.FormatFloat(t, 'f', -1, 64)
}

// humanize turns a module name into a label: professional_travel →
// Professional travel.
func humanize(name string) string {
	text := strings.ReplaceAll(name, "_", " ")
	if text == "" {
		return text
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

// Trajectory draws a lab's (or the institution's) emissions year by year
// against what its objective allows, the baseline and target years marked.
func Trajectory(title string, view *reportingv1.ObjectiveView) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "Year"
	p.Y.Label.Text = "Emissions (" + unitLabel + ")"
	p.Y.Min = 0
	p.Y.Tick.Marker = unitTicks{}
	p.X.Tick.Marker = yearTicks{}
	p.Legend.Top = true
	objective := view.GetObjective()
	var allowed, actual plotter.XYs
	top := view.GetBaselineKgCo2E() / 1000
	for _, y := range view.GetYears() {
		allowed = append(allowed, plotter.XY{X: float64(y.GetYear()), Y: y.GetAllowedKgCo2E() / 1000})
		if y.ActualKgCo2E != nil {
			actual = append(actual, plotter.XY{X: float64(y.GetYear()), Y: y.GetActualKgCo2E() / 1000})
			top = math.Max(top, y.GetActualKgCo2E()/1000)
		}
	}
	if len(allowed) > 0 {
		line, err := plotter.NewLine(allowed)
		if err != nil {
			return nil, fmt.Errorf("allowed: %w", err)
		}
		line.Color = allowedColor
		line.Width = vg.Points(2)
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("Allowed: -%g %% by %d", objective.GetReductionPct(), objective.GetTargetYear()), line)
	}
	if len(actual) > 0 {
		line, points, err := plotter.NewLinePoints(actual)
		if err != nil {
			return nil, fmt.Errorf("actual: %w", err)
		}
		line.Color, points.Color = barColor, barColor
		line.Width = vg.Points(2)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add("Actual", line, points)
	}
	// The baseline and the target, marked and labelled on the allowed line.
	var marks plotter.XYs
	var names []string
	for _, y := range view.GetYears() {
		switch y.GetYear() {
		case objective.GetBaselineYear():
			marks, names = append(marks, plotter.XY{X: float64(y.GetYear()), Y: y.GetAllowedKgCo2E() / 1000}), append(names, fmt.Sprintf("Baseline %d", y.GetYear()))
		case objective.GetTargetYear():
			marks, names = append(marks, plotter.XY{X: float64(y.GetYear()), Y: y.GetAllowedKgCo2E() / 1000}), append(names, fmt.Sprintf("Target %d", y.GetYear()))
		}
	}
	if len(marks) > 0 {
		scatter, err := plotter.NewScatter(marks)
		if err != nil {
			return nil, fmt.Errorf("marks: %w", err)
		}
		scatter.Color = allowedColor
		scatter.Radius = vg.Points(5)
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: marks, Labels: names})
		if err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].YAlign = -1.5 // above the mark
		}
		p.Add(scatter, labels)
	}
	p.Y.Max = math.Max(top*1.15, 1e-3)
	if len(allowed) > 0 {
		p.X.Min, p.X.Max = allowed[0].X-0.5, allowed[len(allowed)-1].X+0.5
	}
	return render(p)
}

// allowedColor is the objective's orange, apart from the data's blue.
var allowedColor = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}

// yearTicks label whole years only.
type yearTicks struct{}

func (yearTicks) Ticks(low, high float64) []plot.Tick {
	first, last := int(math.Ceil(low)), int(math.Floor(high))
	step := max(1, (last-first+1)/12)
	var ticks []plot.Tick
	for year := first; year <= last; year += step {
		ticks = append(ticks, plot.Tick{Value: float64(year), Label: strconv.Itoa(year)})
	}
	return ticks
}

// scenarioColor is the scenario's green, beside the actual data's blue.
var scenarioColor = color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}

// Scenario draws a scenario beside the actual year: the total and each
// module, both ways, with what the objective allows that year when the lab
// has one.
func Scenario(report *reportingv1.ScenarioReport) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Scenario %q against %d", report.GetScenarioName(), report.GetYear())
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "Emissions (" + unitLabel + ")"
	p.X.Min = 0
	p.X.Tick.Marker = unitTicks{}
	p.Legend.Top = true
	labels := []string{"Total"}
	comparisons := []*reportingv1.Comparison{report.GetTotal()}
	for _, m := range report.GetModules() {
		labels = append(labels, humanize(m.GetModule()))
		comparisons = append(comparisons, m.GetComparison())
	}
	// The first at the top.
	slices.Reverse(labels)
	slices.Reverse(comparisons)
	actual := make(plotter.Values, len(comparisons))
	scenario := make(plotter.Values, len(comparisons))
	top := 0.0
	for i, c := range comparisons {
		actual[i], scenario[i] = c.GetActualKgCo2E()/1000, c.GetScenarioKgCo2E()/1000
		top = math.Max(top, math.Max(actual[i], scenario[i]))
	}
	for _, series := range []struct {
		name   string
		values plotter.Values
		color  color.Color
		offset vg.Length
	}{
		{fmt.Sprintf("Actual %d", report.GetYear()), actual, barColor, vg.Points(7)},
		{"Scenario", scenario, scenarioColor, -vg.Points(7)},
	} {
		chart, err := plotter.NewBarChart(series.values, vg.Points(14))
		if err != nil {
			return nil, fmt.Errorf("bar chart: %w", err)
		}
		chart.Horizontal = true
		chart.Color = series.color
		chart.LineStyle.Width = 0
		chart.Offset = series.offset
		p.Add(chart)
		p.Legend.Add(series.name, chart)
	}
	if objective := report.GetActualObjective(); objective != nil {
		allowed := objective.GetAllowedKgCo2E() / 1000
		line, err := plotter.NewLine(plotter.XYs{{X: allowed, Y: -0.5}, {X: allowed, Y: float64(len(labels)) - 0.5}})
		if err != nil {
			return nil, fmt.Errorf("allowed: %w", err)
		}
		line.Color = allowedColor
		line.Width = vg.Points(2)
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("Allowed in %d by the objective", objective.GetYear()), line)
		top = math.Max(top, allowed)
	}
	p.NominalY(labels...)
	p.X.Max = math.Max(top*1.15, 1e-3)
	return render(p)
}
