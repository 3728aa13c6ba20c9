package deploycheck

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildList is `go list -m all` in dir: module path → version, leaving out
// the workspace's own modules (replaced by directories).
func buildList(t *testing.T, dir string, env ...string) map[string]string {
	t.Helper()
	command := exec.Command("go", "list", "-mod=readonly", "-m", "all")
	command.Dir = dir
	command.Env = append(os.Environ(), env...)
	out, err := command.Output()
	if err != nil {
		stderr := ""
		if exitErr := new(exec.ExitError); errors.As(err, &exitErr) {
			stderr = string(exitErr.Stderr)
		}
		t.Fatalf("go list -m all in %s %v: %v\n%s", dir, env, err, stderr)
	}
	modules := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "github.com/co2-calculator/co2-calculator") {
			continue
		}
		modules[fields[0]] = fields[1]
	}
	return modules
}

// An image builds its service alone (GOWORK=off, deploy/Dockerfile and
// tools/images), the tests run in the workspace: both must resolve every
// dependency to the same version, or what ships is not what was tested.
// The workspace's build list is one for all its modules, so a version any
// module raises there must be raised in each service's go.mod too.
func TestEveryServiceBuildsAloneWithTheVersionsTheTestsUse(t *testing.T) {
	workspace := buildList(t, root)
	for name := range services {
		dir := filepath.Join(root, "services", name)
		alone := buildList(t, dir, "GOWORK=off")
		for module, version := range alone {
			if tested := workspace[module]; tested != version {
				t.Errorf("services/%s built alone uses %s %s, its tests in the workspace use %s: run make modules-sync",
					name, module, version, tested)
			}
		}
	}
}
