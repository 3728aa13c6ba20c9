package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// buildImage compiles the program and writes its image to archive; it
// returns the image's manifest digest. The binary stays beside the
// archives (Go relinks it only when an input changed) and the archive is
// written again only when the binary, the reference or the commit changed.
func buildImage(ctx context.Context, root string, p program, ref string, rev revision, archive string) (string, error) {
	binary := filepath.Join(filepath.Dir(archive), "bin", binaryName(p))
	if err := goBuild(ctx, filepath.Join(root, p.module), p.pkg, binary); err != nil {
		return "", err
	}
	goarch := os.Getenv("GOARCH")
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	spec := imageSpec{
		ref:          ref,
		created:      rev.time,
		architecture: goarch,
		binary:       binary,
		entrypoint:   "/usr/local/bin/" + binaryName(p),
		labels: map[string]string{
			"org.opencontainers.image.title":    p.title,
			"org.opencontainers.image.revision": rev.label(),
			"org.opencontainers.image.source":   "https://github.com/co2-calculator/co2-calculator",
		},
	}
	key, err := spec.key()
	if err != nil {
		return "", err
	}
	keyFile := archive + ".key"
	if previous, err := os.ReadFile(keyFile); err == nil && strings.HasPrefix(string(previous), key+" ") {
		if _, err := os.Stat(archive); err == nil {
			return strings.TrimPrefix(string(previous), key+" "), nil
		}
	}
	digest, err := writeArchive(archive, spec)
	if err != nil {
		return "", err
	}
	return digest, os.WriteFile(keyFile, []byte(key+" "+digest), 0o644)
}

// goBuild builds a static binary the way every image is built: the module
// on its own (GOWORK=off: its go.mod, not the workspace's, decides the
// versions, and tools/deploycheck keeps the two equal), no cgo, no paths of
// this machine in the binary.
func goBuild(ctx context.Context, dir, pkg, out string) error {
	command := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	command.Dir = dir
	command.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux",
		"GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
	command.Stdout, command.Stderr = os.Stderr, os.Stderr
	if err := command.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w", pkg, dir, err)
	}
	return nil
}
