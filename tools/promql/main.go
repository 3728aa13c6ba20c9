// Command promql parses PromQL expressions as Prometheus does and says, for
// each, what it selects: the chart's tests (tools/deploycheck) feed it the
// expressions of the dashboard and the alerting rules, then check each
// metric and label against what the services export.
//
// It reads a JSON array of expressions on standard input and writes a JSON
// array of results in the same order: the parser's error, or the metric
// names and label names the expression uses.
//
// It is its own module, outside go.work: the Prometheus module's
// requirements would raise, in the workspace's one build list, versions of
// modules the services share (prometheus/common among them) above those
// their images are built with.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// Selector is one vector or matrix selector: its metric name and the
// labels its matchers name (__name__ aside).
type Selector struct {
	Metric string   `json:"metric"`
	Labels []string `json:"labels"`
}

// Result is what one expression uses, or why it does not parse.
type Result struct {
	Error     string     `json:"error,omitempty"`
	Selectors []Selector `json:"selectors,omitempty"`
	// Grouping holds the labels that by, without, on, ignoring and
	// group_left/group_right clauses name.
	Grouping []string `json:"grouping,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var expressions []string
	if err := json.NewDecoder(os.Stdin).Decode(&expressions); err != nil {
		return fmt.Errorf("read expressions: %w", err)
	}
	p := parser.NewParser(parser.Options{})
	results := make([]Result, 0, len(expressions))
	for _, expression := range expressions {
		results = append(results, inspect(p, expression))
	}
	return json.NewEncoder(os.Stdout).Encode(results)
}

func inspect(p parser.Parser, expression string) Result {
	expr, err := p.ParseExpr(expression)
	if err != nil {
		return Result{Error: err.Error()}
	}
	var result Result
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			selector := Selector{Metric: n.Name}
			for _, matcher := range n.LabelMatchers {
				if matcher.Name != "__name__" {
					selector.Labels = append(selector.Labels, matcher.Name)
				}
			}
			result.Selectors = append(result.Selectors, selector)
		case *parser.AggregateExpr:
			result.Grouping = append(result.Grouping, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				result.Grouping = append(result.Grouping, n.VectorMatching.MatchingLabels...)
				result.Grouping = append(result.Grouping, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	slices.Sort(result.Grouping)
	result.Grouping = slices.Compact(result.Grouping)
	return result
}
