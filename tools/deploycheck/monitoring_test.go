package deploycheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// monitoringFlags render the chart with the dashboard and the alerting
// rules, for a cluster that has the Prometheus Operator's CRDs.
var monitoringFlags = []string{
	"--set", "grafanaDashboard.enabled=true", "--set", "prometheusRule.enabled=true",
	"--api-versions", "monitoring.coreos.com/v1/PrometheusRule",
	"--api-versions", "monitoring.coreos.com/v1/ServiceMonitor",
}

func TestTheDashboardAndAlertsAreOffByDefault(t *testing.T) {
	for _, object := range renderObjects(t) {
		name, _ := dig(object, "metadata", "name").(string)
		if object["kind"] == "PrometheusRule" || strings.HasSuffix(name, "-dashboard") {
			t.Errorf("the default values render %s %s", object["kind"], name)
		}
	}
	_, err := runHelm(t, "template", "co2", "charts/co2-calculator", "--set", "prometheusRule.enabled=true")
	if err == nil || !strings.Contains(err.Error(), "PrometheusRule CRD") {
		t.Errorf("alerting rules without the PrometheusRule CRD: %v, want a refusal that names it", err)
	}
}

// The ConfigMap holds the dashboard file as it is, labelled for Grafana's
// sidecar, and every query of every panel parses and asks for series the
// services export.
func TestTheDashboardQueriesMetricsTheServicesExport(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(root, "charts/co2-calculator/dashboards/co2-calculator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var configMap map[string]any
	for _, object := range renderObjects(t, append(monitoringFlags, "--set", "grafanaDashboard.namespace=grafana")...) {
		if object["kind"] == "ConfigMap" && dig(object, "metadata", "labels", "grafana_dashboard") == "1" {
			configMap = object
		}
	}
	if configMap == nil {
		t.Fatal("no ConfigMap labelled grafana_dashboard: \"1\"")
	}
	if namespace := dig(configMap, "metadata", "namespace"); namespace != "grafana" {
		t.Errorf("the dashboard's ConfigMap is in namespace %v, want grafanaDashboard.namespace", namespace)
	}
	data, _ := dig(configMap, "data", "co2-calculator.json").(string)
	if data != strings.TrimSuffix(string(file), "\n") {
		t.Error("the ConfigMap's co2-calculator.json is not dashboards/co2-calculator.json")
	}

	var dashboard struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(file, &dashboard); err != nil {
		t.Fatalf("dashboards/co2-calculator.json: %v", err)
	}
	if dashboard.UID == "" {
		t.Error("the dashboard has no uid: each import would make a new copy")
	}
	var queries []query
	for _, panel := range dashboard.Panels {
		queries = append(queries, panel.queries()...)
	}
	if len(queries) < 20 {
		t.Fatalf("%d panel queries: panels lost?", len(queries))
	}
	variables := map[string]bool{}
	for _, variable := range dashboard.Templating.List {
		variables[variable.Name] = true
		if variable.Type != "query" {
			continue
		}
		// label_values(<series selector>, <label>): the selector is PromQL.
		text, _ := dig(variable.Query, "query").(string)
		selector := labelValues.FindStringSubmatch(text)
		if selector == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", variable.Name, text)
			continue
		}
		queries = append(queries, query{where: "variable " + variable.Name, expr: selector[1]})
	}
	for i, q := range queries {
		for _, used := range grafanaVariable.FindAllStringSubmatch(q.expr, -1) {
			if name := used[1] + used[2]; !strings.HasPrefix(name, "__") && !variables[name] {
				t.Errorf("%s uses $%s, which the dashboard does not define", q.where, name)
			}
		}
		queries[i].expr = grafanaInterval.ReplaceAllString(q.expr, "5m")
	}
	checkQueries(t, queries, exportedMetrics(t))
}

// Every rule of the PrometheusRule parses, asks for series the services
// export, and holds its condition for a while before it fires.
func TestTheAlertsQueryMetricsTheServicesExport(t *testing.T) {
	var rules []any
	for _, object := range renderObjects(t, monitoringFlags...) {
		if object["kind"] == "PrometheusRule" {
			groups, _ := dig(object, "spec", "groups").([]any)
			for _, group := range groups {
				groupRules, _ := dig(group, "rules").([]any)
				rules = append(rules, groupRules...)
			}
		}
	}
	var queries []query
	var alerts []string
	for _, rule := range rules {
		alert, _ := dig(rule, "alert").(string)
		expr, _ := dig(rule, "expr").(string)
		if alert == "" || expr == "" {
			t.Errorf("rule without alert or expr: %v", rule)
			continue
		}
		if dig(rule, "for") == nil || dig(rule, "labels", "severity") == nil || dig(rule, "annotations", "summary") == nil {
			t.Errorf("alert %s lacks for, a severity label or a summary", alert)
		}
		alerts = append(alerts, alert)
		queries = append(queries, query{where: "alert " + alert, expr: expr})
	}
	slices.Sort(alerts)
	want := []string{"Co2DatabasePoolExhausted", "Co2JobWaitingPastLease", "Co2QueueGrowing", "Co2ServerErrors", "Co2SlowRequests"}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %v, want %v", alerts, want)
	}
	checkQueries(t, queries, exportedMetrics(t))
}

// The latency panel and alert leave out the streaming calls, whose length
// is the client's, and only them: a streaming RPC added to proto/ must be
// added to the pattern.
func TestTheLatencyLeavesOutExactlyTheStreamingCalls(t *testing.T) {
	var patterns []string
	values, err := os.ReadFile(filepath.Join(root, "charts/co2-calculator/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		PrometheusRule struct {
			StreamingMethods string `yaml:"streamingMethods"`
		} `yaml:"prometheusRule"`
	}
	if err := yaml.Unmarshal(values, &chart); err != nil {
		t.Fatal(err)
	}
	patterns = append(patterns, chart.PrometheusRule.StreamingMethods)
	file, err := os.ReadFile(filepath.Join(root, "charts/co2-calculator/dashboards/co2-calculator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(file, &dashboard); err != nil {
		t.Fatal(err)
	}
	for _, variable := range dashboard.Templating.List {
		if variable.Name == "streams" {
			pattern, _ := variable.Query.(string)
			patterns = append(patterns, pattern)
		}
	}
	if len(patterns) != 2 {
		t.Fatalf("the dashboard has no streams variable")
	}
	procedures := rpcProcedures(t)
	if len(procedures) < 20 {
		t.Fatalf("%d RPCs found in proto/: has their syntax changed?", len(procedures))
	}
	for _, pattern := range patterns {
		// Prometheus anchors a regular expression at both ends.
		matcher, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			t.Fatalf("pattern %q: %v", pattern, err)
		}
		for procedure, streaming := range procedures {
			switch matches := matcher.MatchString(procedure); {
			case streaming && !matches:
				t.Errorf("%q does not match %s, which streams: its length would count as latency", pattern, procedure)
			case !streaming && matches:
				t.Errorf("%q matches %s, a unary call: its latency would go unseen", pattern, procedure)
			}
		}
	}
}

var (
	protoPackage = regexp.MustCompile(`(?m)^package ([\w.]+);`)
	protoService = regexp.MustCompile(`(?m)^service (\w+) \{`)
	protoRPC     = regexp.MustCompile(`(?m)^\s*rpc (\w+)\s*\((stream )?[\w.]+\)\s*returns\s*\((stream )?`)
	// label_values(selector, label) of a Grafana query variable.
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	// Grafana's $variable or ${variable}.
	grafanaVariable = regexp.MustCompile(`\$(?:(\w+)|\{(\w+)\})`)
	// Grafana's own range variables, which stand for a duration.
	grafanaInterval = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
)

// rpcProcedures are the procedures of proto/ as rpc_method names them
// (package.Service/Method), each with whether it streams.
func rpcProcedures(t *testing.T) map[string]bool {
	t.Helper()
	procedures := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(root, "proto/co2/*/v1/*.proto"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		source, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(source)
		pkg := protoPackage.FindStringSubmatch(text)
		services := protoService.FindAllStringSubmatchIndex(text, -1)
		for i, service := range services {
			end := len(text)
			if i+1 < len(services) {
				end = services[i+1][0]
			}
			name := text[service[2]:service[3]]
			for _, rpc := range protoRPC.FindAllStringSubmatch(text[service[1]:end], -1) {
				procedures[pkg[1]+"."+name+"/"+rpc[1]] = rpc[2] != "" || rpc[3] != ""
			}
		}
	}
	return procedures
}

// dashboardPanel is a panel of the dashboard, or a row holding panels.
type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

func (p dashboardPanel) queries() []query {
	var queries []query
	for _, target := range p.Targets {
		queries = append(queries, query{where: "panel " + p.Title, expr: target.Expr})
	}
	for _, inner := range p.Panels {
		queries = append(queries, inner.queries()...)
	}
	return queries
}

// query is one PromQL expression and where it stands.
type query struct {
	where, expr string
}

// selection is what tools/promql says of one expression.
type selection struct {
	Error     string `json:"error"`
	Selectors []struct {
		Metric string   `json:"metric"`
		Labels []string `json:"labels"`
	} `json:"selectors"`
	Grouping []string `json:"grouping"`
}

// checkQueries fails the test for each query that Prometheus's parser
// refuses, that selects a series the services do not export, or that
// matches or groups by a label those series do not carry.
func checkQueries(t *testing.T, queries []query, metrics exported) {
	t.Helper()
	for i, selection := range parsePromQL(t, queries) {
		q := queries[i]
		if selection.Error != "" {
			t.Errorf("%s: %s\n%s", q.where, selection.Error, q.expr)
			continue
		}
		if len(selection.Selectors) == 0 {
			t.Errorf("%s selects no series: %s", q.where, q.expr)
		}
		carried := map[string]bool{}
		for _, selector := range selection.Selectors {
			labels, ok := metrics[selector.Metric]
			if !ok {
				t.Errorf("%s: the services export no %s", q.where, selector.Metric)
				continue
			}
			for _, label := range selector.Labels {
				if !labels[label] {
					t.Errorf("%s: %s has no label %s", q.where, selector.Metric, label)
				}
			}
			for label := range labels {
				carried[label] = true
			}
		}
		for _, label := range selection.Grouping {
			if !carried[label] {
				t.Errorf("%s groups by %s, which none of its series carries", q.where, label)
			}
		}
	}
}

// parsePromQL runs tools/promql (Prometheus's own parser, in a module of
// its own) over the expressions.
func parsePromQL(t *testing.T, queries []query) []selection {
	t.Helper()
	expressions := make([]string, 0, len(queries))
	for _, q := range queries {
		expressions = append(expressions, q.expr)
	}
	input, err := json.Marshal(expressions)
	if err != nil {
		t.Fatal(err)
	}
	command := exec.Command("go", "run", ".")
	command.Dir = filepath.Join(root, "tools", "promql")
	command.Env = append(os.Environ(), "GOWORK=off")
	command.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	command.Stderr = &stderr
	out, err := command.Output()
	if err != nil {
		t.Fatalf("tools/promql: %v\n%s", err, stderr.String())
	}
	var selections []selection
	if err := json.Unmarshal(out, &selections); err != nil {
		t.Fatalf("tools/promql's answer: %v", err)
	}
	if len(selections) != len(queries) {
		t.Fatalf("tools/promql answered %d of %d expressions", len(selections), len(queries))
	}
	return selections
}
