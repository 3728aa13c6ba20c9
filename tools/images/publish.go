package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// loadArchive hands an archive to a container engine.
func loadArchive(ctx context.Context, engine, archive string) error {
	var command *exec.Cmd
	switch engine {
	case "containerd":
		// The kubelet's images live in containerd's k8s.io namespace.
		command = exec.CommandContext(ctx, "ctr", "-n", "k8s.io", "images", "import", archive)
	case "podman", "docker":
		command = exec.CommandContext(ctx, engine, "load", "-q", "-i", archive)
	default:
		return fmt.Errorf("unknown engine %q: containerd, podman or docker", engine)
	}
	out, err := command.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(command.Args, " "), err, out)
	}
	return nil
}

// pushArchive uploads an archive's blobs and manifest to ref's registry
// with the OCI distribution API. It speaks plain HTTP to a registry on this
// machine (localhost, 127.0.0.1) and HTTPS elsewhere, without credentials:
// for a registry that wants them, load the image into podman or docker and
// push with it.
func pushArchive(ctx context.Context, archive, ref string) error {
	registry, repository, tag, err := splitRef(ref)
	if err != nil {
		return err
	}
	blobs, manifestDigest, err := readArchive(archive)
	if err != nil {
		return err
	}
	scheme := "https"
	if host := strings.Split(registry, ":")[0]; host == "localhost" || host == "127.0.0.1" {
		scheme = "http"
	}
	base := scheme + "://" + registry + "/v2/" + repository
	client := &http.Client{Timeout: 5 * time.Minute}
	var manifest struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(blobs[manifestDigest], &manifest); err != nil {
		return fmt.Errorf("manifest of %s: %w", archive, err)
	}
	digests := []string{manifest.Config.Digest}
	for _, l := range manifest.Layers {
		digests = append(digests, l.Digest)
	}
	for _, digest := range digests {
		if err := pushBlob(ctx, client, base, digest, blobs[digest]); err != nil {
			return err
		}
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/manifests/"+tag, bytes.NewReader(blobs[manifestDigest]))
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", manifest.MediaType)
	return send(client, request, http.StatusCreated)
}

func pushBlob(ctx context.Context, client *http.Client, base, digest string, content []byte) error {
	head, err := http.NewRequestWithContext(ctx, http.MethodHead, base+"/blobs/"+digest, nil)
	if err != nil {
		return err
	}
	if response, err := client.Do(head); err == nil {
		response.Body.Close()
		if response.StatusCode == http.StatusOK {
			return nil
		}
	}
	start, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/blobs/uploads/", nil)
	if err != nil {
		return err
	}
	response, err := client.Do(start)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusAccepted {
		return fmt.Errorf("start an upload at %s: %s", base, response.Status)
	}
	location, err := response.Request.URL.Parse(response.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("upload location: %w", err)
	}
	query := location.Query()
	query.Set("digest", digest)
	location.RawQuery = query.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, location.String(), bytes.NewReader(content))
	if err != nil {
		return err
	}
	put.Header.Set("Content-Type", "application/octet-stream")
	return send(client, put, http.StatusCreated)
}

// send sends request and wants status back.
func send(client *http.Client, request *http.Request, status int) error {
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != status {
		body, _ := io.ReadAll(io.LimitReader(response.Body, 1024))
		return fmt.Errorf("%s %s: %s %s", request.Method, request.URL, response.Status, body)
	}
	return nil
}

// readArchive returns an archive's blobs by digest and its manifest's.
func readArchive(path string) (map[string][]byte, string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer file.Close()
	blobs := map[string][]byte{}
	var index struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	entries := tar.NewReader(file)
	for {
		header, err := entries.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		content, err := io.ReadAll(entries)
		if err != nil {
			return nil, "", err
		}
		if header.Name == "index.json" {
			if err := json.Unmarshal(content, &index); err != nil {
				return nil, "", err
			}
		} else if hex, ok := strings.CutPrefix(header.Name, "blobs/sha256/"); ok {
			blobs["sha256:"+hex] = content
		}
	}
	if len(index.Manifests) != 1 {
		return nil, "", fmt.Errorf("%s: want one image, found %d", path, len(index.Manifests))
	}
	return blobs, index.Manifests[0].Digest, nil
}

// splitRef splits registry/repository:tag; the registry must be named.
func splitRef(ref string) (registry, repository, tag string, err error) {
	registry, rest, found := strings.Cut(ref, "/")
	if !found || !strings.ContainsAny(registry, ".:") && registry != "localhost" {
		return "", "", "", fmt.Errorf("%s names no registry to push to (for example localhost:5000/co2-calculator/labs:TAG)", ref)
	}
	repository, tag, found = strings.Cut(rest, ":")
	if !found {
		tag = "latest"
	}
	if _, err := url.Parse("http://" + registry); err != nil {
		return "", "", "", fmt.Errorf("registry %q: %w", registry, err)
	}
	return registry, repository, tag, nil
}
