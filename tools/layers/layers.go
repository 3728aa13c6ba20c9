// Command layers checks the import rules of the services (ADR 016), as
// make lint runs it:
//
//   - platform imports no service: not their packages, not their APIs
//     (proto/gen; the audit trail's contract, common to all, excepted),
//     not their migrations;
//   - no service imports another service's packages;
//   - within a service, api → bus ← db: an api package imports no db
//     package; a bus package imports no api or db package, nor the wire
//     types (proto/gen), nor the database driver (pgx), nor a package of
//     its service that does (an adapter such as a client or a queue); a db
//     package imports no api package.
//
// A package's layer is the suffix of its name: ...api, ...bus, ...db.
// A package's own tests count as the package; external tests (package
// x_test) wire real stores as a main does, and keep the first two rules
// only.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Module is the path prefix of every package of the project.
const Module = "github.com/co2-calculator/co2-calculator"

const (
	services  = Module + "/services/"
	platform  = services + "platform/"
	wireTypes = Module + "/proto/gen/"
	// The contract every service serves alike (its audit trail), which is
	// no one service's API: the platform may serve it.
	sharedWireTypes = wireTypes + "go/co2/audit/"
	migrations      = Module + "/migrations/"
	databaseLib     = "github.com/jackc/pgx/"
)

// Package is what the check reads of a package.
type Package struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func (p Package) imports() []string {
	all := slices.Concat(p.Imports, p.TestImports)
	slices.Sort(all)
	return slices.Compact(all)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "layers:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	packages, err := list(services + "...")
	if err != nil {
		return err
	}
	violations := Check(packages)
	for _, v := range violations {
		fmt.Fprintln(out, v)
	}
	if len(violations) > 0 {
		return fmt.Errorf("%d import(s) break the layer rules (ADR 016)", len(violations))
	}
	fmt.Fprintf(out, "layers: %d packages keep the layer rules\n", len(packages))
	return nil
}

// list asks the go command for packages matching pattern.
func list(pattern string) ([]Package, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", pattern)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	output, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", pattern, err, stderr.String())
	}
	var packages []Package
	decoder := json.NewDecoder(bytes.NewReader(output))
	for {
		var p Package
		if err := decoder.Decode(&p); errors.Is(err, io.EOF) {
			return packages, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		packages = append(packages, p)
	}
}

// Check returns every import that breaks a rule, one line each.
func Check(packages []Package) []string {
	// adapters are the services' packages that speak a wire or a database.
	adapters := map[string]bool{}
	for _, p := range packages {
		for _, imported := range p.Imports {
			if strings.HasPrefix(imported, wireTypes) || strings.HasPrefix(imported, databaseLib) {
				adapters[p.ImportPath] = true
			}
		}
	}
	var violations []string
	for _, p := range packages {
		service := serviceOf(p.ImportPath)
		if service == "" {
			continue
		}
		layer := layerOf(p.ImportPath)
		for _, imported := range p.imports() {
			if why := breaks(service, layer, imported, adapters[imported]); why != "" {
				violations = append(violations, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imported, why))
			}
		}
		for _, imported := range p.XTestImports {
			if why := breaks(service, "", imported, false); why != "" {
				violations = append(violations, fmt.Sprintf("%s_test imports %s: %s", p.ImportPath, imported, why))
			}
		}
	}
	return violations
}

// breaks says why a package of service and layer may not import imported,
// or "" when it may.
func breaks(service, layer, imported string, importedIsAdapter bool) string {
	if service == "platform" {
		switch {
		case strings.HasPrefix(imported, services) && !strings.HasPrefix(imported, platform):
			return "platform imports no service"
		case strings.HasPrefix(imported, wireTypes) && !strings.HasPrefix(imported, sharedWireTypes):
			return "platform imports no service's API"
		case strings.HasPrefix(imported, migrations):
			return "platform imports no service's migrations"
		}
		return ""
	}
	importedService := serviceOf(imported)
	if importedService != "" && importedService != service && importedService != "platform" {
		return "a service imports no other service"
	}
	sameService := importedService == service
	importedLayer := layerOf(imported)
	switch layer {
	case "api":
		if sameService && importedLayer == "db" {
			return "an api package reaches the store through the bus"
		}
	case "bus":
		switch {
		case sameService && (importedLayer == "api" || importedLayer == "db"):
			return "the bus imports neither its API nor its store (the store implements the bus's interfaces)"
		case strings.HasPrefix(imported, wireTypes):
			return "the bus speaks its own types, not wire messages"
		case strings.HasPrefix(imported, databaseLib):
			return "the bus knows no database"
		case sameService && importedIsAdapter:
			return "the bus imports no adapter (clients, queues): they implement its interfaces"
		}
	case "db":
		if sameService && importedLayer == "api" {
			return "a store imports no API"
		}
	}
	return ""
}

// serviceOf is the service a package belongs to ("platform" for the
// platform), or "" outside services/.
func serviceOf(path string) string {
	rest, ok := strings.CutPrefix(path, services)
	if !ok {
		return ""
	}
	service, _, _ := strings.Cut(rest, "/")
	return service
}

// layerOf is a package's layer: "api", "bus" or "db", by the suffix of its
// name; "" for the others.
func layerOf(path string) string {
	name := path[strings.LastIndex(path, "/")+1:]
	for _, layer := range []string{"api", "bus", "db"} {
		if strings.HasSuffix(name, layer) {
			return layer
		}
	}
	return ""
}
