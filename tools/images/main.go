// Command images builds the container images of co2-calculator: for each
// program a static binary, built from its own module alone (GOWORK=off, the
// build list tools/deploycheck holds equal to the tests'), on a base of CA
// certificates, a non-root user and a writable /tmp, written as an OCI
// archive. No registry, base image or container engine is needed to build;
// one can load the result (containerd, podman, docker) or push it to a
// registry.
//
//	go run ./tools/images [-tag T] [-repository R] [-out DIR] [-load ENGINE] [-push] [NAME...]
//
// The names are those of catalogue.go (the five services by default).
// Under skaffold's custom builder, -skaffold NAME builds the image skaffold
// asks for ($IMAGE) and pushes it when $PUSH_IMAGE is true, else loads it
// into the local Docker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("images", flag.ContinueOnError)
	tag := flags.String("tag", "", "image tag (default: the commit, -dirty when the tree has changes)")
	repository := flags.String("repository", "co2-calculator", "images are REPOSITORY/NAME:TAG")
	out := flags.String("out", "", "directory of the OCI archives (default: .k8s/images in the repository)")
	load := flags.String("load", "", "load the images into containerd (its k8s.io namespace), podman or docker")
	push := flags.Bool("push", false, "push the images to their registry (REPOSITORY starts with it)")
	skaffold := flags.String("skaffold", "", "build NAME as skaffold's custom builder asks ($IMAGE, $PUSH_IMAGE)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	root, err := repositoryRoot()
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(root, ".k8s", "images")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	revision := gitRevision(root)

	var builds []request
	if *skaffold != "" {
		ref := os.Getenv("IMAGE")
		if ref == "" {
			return errors.New("-skaffold: $IMAGE is not set (skaffold sets it for its custom builder)")
		}
		builds = append(builds, request{name: *skaffold, ref: ref})
		// skaffold reads a pushed image's digest from its registry, and an
		// image it did not push from the local Docker.
		*push = os.Getenv("PUSH_IMAGE") == "true"
		if !*push && *load == "" {
			*load = "docker"
		}
	} else {
		if *tag == "" {
			*tag = revision.tag()
		}
		names := flags.Args()
		if len(names) == 0 {
			names = serviceNames
		}
		for _, name := range names {
			builds = append(builds, request{name: name, ref: *repository + "/" + name + ":" + *tag})
		}
	}
	for _, b := range builds {
		image, ok := catalogue[b.name]
		if !ok {
			return fmt.Errorf("no image named %q (known: %s)", b.name, strings.Join(knownNames(), ", "))
		}
		archive := filepath.Join(*out, b.name+".tar")
		digest, err := buildImage(ctx, root, image, b.ref, revision, archive)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		fmt.Printf("%s %s %s\n", b.ref, digest, archive)
		if *load != "" {
			if err := loadArchive(ctx, *load, archive); err != nil {
				return fmt.Errorf("load %s into %s: %w", b.ref, *load, err)
			}
		}
		if *push {
			if err := pushArchive(ctx, archive, b.ref); err != nil {
				return fmt.Errorf("push %s: %w", b.ref, err)
			}
		}
	}
	return nil
}

type request struct{ name, ref string }

func repositoryRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("find the repository (git rev-parse): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
