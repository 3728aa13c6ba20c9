package main

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// program is what an image runs: a main package, built in its module's
// directory with that module alone.
type program struct {
	// module is the module's directory, relative to the repository.
	module string
	// pkg is the main package, relative to module or a full import path.
	pkg string
	// title describes the image (its org.opencontainers.image.title).
	title string
}

// serviceNames are the images of the system itself, built by default.
var serviceNames = []string{"labs", "ingest", "calc", "reporting", "gateway"}

var catalogue = map[string]program{
	"labs":      {module: "services/labs", pkg: "./cmd/labs", title: "co2-calculator labs service"},
	"ingest":    {module: "services/ingest", pkg: "./cmd/ingest", title: "co2-calculator ingest service"},
	"calc":      {module: "services/calc", pkg: "./cmd/calc", title: "co2-calculator calc service and import workers"},
	"reporting": {module: "services/reporting", pkg: "./cmd/reporting", title: "co2-calculator reporting service"},
	"gateway":   {module: "services/gateway", pkg: "./cmd/gateway", title: "co2-calculator REST gateway"},
	// The chart's test (helm test) and the smoke checks of make test-k8s.
	"smoke": {module: "tools", pkg: "./smoke", title: "co2-calculator smoke test"},
	// The dev OIDC provider of compose and skaffold, the pinned Dex.
	"dex": {module: "tools/dex", pkg: "github.com/dexidp/dex/cmd/dex", title: "Dex (dev OIDC provider)"},
	// The test node's cluster DNS and pod sandbox.
	"coredns": {module: "tools/k8s/coredns", pkg: ".", title: "CoreDNS (cluster DNS of the test node)"},
	"pause":   {module: "tools", pkg: "./k8s/pause", title: "pod sandbox of the test node"},
}

func knownNames() []string {
	var names []string
	for name := range catalogue {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// revision is the commit the images are built from.
type revision struct {
	commit string
	dirty  bool
	// time is the commit's, the images' creation time.
	time time.Time
}

func gitRevision(root string) revision {
	var r revision
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		r.commit = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output(); err == nil {
		if seconds, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			r.time = time.Unix(seconds, 0).UTC()
		}
	}
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil {
		r.dirty = len(strings.TrimSpace(string(out))) > 0
	}
	return r
}

// tag names the commit, and says when the tree differs from it.
func (r revision) tag() string {
	tag := "dev"
	if len(r.commit) >= 12 {
		tag = r.commit[:12]
	}
	if r.dirty {
		tag += "-dirty"
	}
	return tag
}

func (r revision) label() string {
	if r.dirty {
		return r.commit + "-dirty"
	}
	return r.commit
}

// binaryName is where the program lands: /usr/local/bin/<name>.
func binaryName(p program) string {
	if p.pkg == "." {
		return filepath.Base(p.module)
	}
	return filepath.Base(p.pkg)
}
