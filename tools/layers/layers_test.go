package main

import (
	"strings"
	"testing"
)

func pkg(path string, imports ...string) Package {
	return Package{ImportPath: Module + "/" + path, Imports: imports}
}

// Each rule refuses the import it names, and lets the allowed ones pass.
func TestEachRuleRefusesWhatItNames(t *testing.T) {
	const (
		labsBus   = Module + "/services/labs/internal/labsbus"
		labsDB    = Module + "/services/labs/internal/labsdb"
		labsAPI   = Module + "/services/labs/internal/labsapi"
		clients   = Module + "/services/labs/internal/clients"
		calcBus   = Module + "/services/calc/internal/importbus"
		wire      = Module + "/proto/gen/go/co2/labs/v1"
		authz     = Module + "/services/platform/authz"
		labsSQL   = Module + "/migrations/labs"
		pgxpool   = "github.com/jackc/pgx/v5/pgxpool"
		unrelated = "strings"
	)
	cases := []struct {
		name string
		pkg  Package
		want string // "" when allowed
	}{
		{"platform importing a service", pkg("services/platform/authz", labsBus), "platform imports no service"},
		{"platform importing a service's API", pkg("services/platform/authz", wire), "no service's API"},
		{"platform importing a service's migrations", pkg("services/platform/pgtest", labsSQL), "no service's migrations"},
		{"a service importing another", pkg("services/calc/internal/clients", labsBus), "no other service"},
		{"an API reaching the store", pkg("services/labs/internal/labsapi", labsDB), "through the bus"},
		{"a bus importing its store", pkg("services/labs/internal/labsbus", labsDB), "neither its API nor its store"},
		{"a bus importing its API", pkg("services/labs/internal/labsbus", labsAPI), "neither its API nor its store"},
		{"a bus speaking wire messages", pkg("services/labs/internal/labsbus", wire), "not wire messages"},
		{"a bus knowing the database", pkg("services/labs/internal/labsbus", pgxpool), "no database"},
		{"a bus importing an adapter", pkg("services/labs/internal/labsbus", clients), "no adapter"},
		{"a store importing an API", pkg("services/labs/internal/labsdb", labsAPI), "imports no API"},
		{"an API using its bus and the platform", pkg("services/labs/internal/labsapi", labsBus, authz, wire, unrelated), ""},
		{"a store implementing its bus", pkg("services/labs/internal/labsdb", labsBus, pgxpool), ""},
		{"a bus using another bus of its service", pkg("services/calc/internal/contractbus", calcBus, authz), ""},
	}
	for _, c := range cases {
		packages := []Package{c.pkg, pkg("services/labs/internal/clients", wire)}
		violations := Check(packages)
		switch {
		case c.want == "" && len(violations) > 0:
			t.Errorf("%s: refused: %v", c.name, violations)
		case c.want != "" && (len(violations) != 1 || !strings.Contains(violations[0], c.want)):
			t.Errorf("%s: %v, want one violation saying %q", c.name, violations, c.want)
		}
	}
}

// An external test wires real stores, as a main does; it still imports no
// other service.
func TestExternalTestsWireStores(t *testing.T) {
	bus := Package{ImportPath: Module + "/services/labs/internal/labsbus",
		XTestImports: []string{Module + "/services/labs/internal/labsdb", "github.com/jackc/pgx/v5/pgxpool"}}
	if violations := Check([]Package{bus}); len(violations) > 0 {
		t.Fatalf("an external test wiring a store: %v", violations)
	}
	bus.XTestImports = append(bus.XTestImports, Module+"/services/calc/internal/importbus")
	if violations := Check([]Package{bus}); len(violations) != 1 || !strings.Contains(violations[0], "no other service") {
		t.Fatalf("an external test importing another service: %v", violations)
	}
}

// The project keeps the rules.
func TestTheServicesKeepTheLayerRules(t *testing.T) {
	packages, err := list(services + "...")
	if err != nil {
		t.Fatal(err)
	}
	if len(packages) < 50 {
		t.Fatalf("only %d packages listed", len(packages))
	}
	for _, violation := range Check(packages) {
		t.Error(violation)
	}
}
