// Package stack finds or starts what co2-calculator needs on one machine
// (PostgreSQL and Redis), builds the service binaries and runs them as
// processes. `make run`, `make test` and the end-to-end tests share it.
package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Root returns the repository root: the nearest folder above the working
// directory that holds go.work.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory: run from inside the co2-calculator checkout")
		}
		dir = parent
	}
}

// StateDir is the git-ignored folder that holds project-local servers,
// binaries and logs.
func StateDir(root string) string { return filepath.Join(root, ".devstack") }

func logf(log func(string), format string, args ...any) {
	if log != nil {
		log(fmt.Sprintf(format, args...))
	}
}
