package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The user every image runs as (distroless's "nonroot"): the chart's
// runAsUser, and a home of its own.
const (
	nonrootUID = 65532
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"
)

type imageSpec struct {
	ref          string
	created      time.Time
	architecture string
	binary       string
	entrypoint   string
	labels       map[string]string
}

// key identifies what an archive is made of: the binary, the CA bundle
// and every setting of the image.
func (spec imageSpec) key() (string, error) {
	hash := sha256.New()
	for _, file := range []string{spec.binary, caBundle} {
		content, err := os.Open(file)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(hash, content)
		content.Close()
		if err != nil {
			return "", err
		}
	}
	settings, err := json.Marshal([]any{spec.ref, spec.created, spec.architecture, spec.entrypoint, spec.labels})
	if err != nil {
		return "", err
	}
	hash.Write(settings)
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// blob is one content-addressed file of an OCI image.
type blob struct {
	mediaType string
	content   []byte
}

func (b blob) digest() string {
	sum := sha256.Sum256(b.content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (b blob) descriptor() map[string]any {
	return map[string]any{"mediaType": b.mediaType, "digest": b.digest(), "size": len(b.content)}
}

// writeArchive writes an OCI image layout, as a tar file, holding one
// image: a base layer (CA certificates, the users, /tmp) shared by every
// image, and a layer with the binary. Files carry no time and the image
// its commit's, so the same binary of the same commit makes the same image.
func writeArchive(path string, spec imageSpec) (string, error) {
	base, baseDiffID, err := baseLayer()
	if err != nil {
		return "", err
	}
	app, appDiffID, err := binaryLayer(spec.binary, spec.entrypoint)
	if err != nil {
		return "", err
	}
	config, err := jsonBlob("application/vnd.oci.image.config.v1+json", map[string]any{
		"architecture": spec.architecture,
		"os":           "linux",
		"created":      spec.created.UTC().Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": []string{spec.entrypoint},
			"User":       fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
			"WorkingDir": "/",
			"Env":        []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + caBundle},
			"Labels":     spec.labels,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{baseDiffID, appDiffID}},
	})
	if err != nil {
		return "", err
	}
	manifest, err := jsonBlob("application/vnd.oci.image.manifest.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        config.descriptor(),
		"layers":        []any{base.descriptor(), app.descriptor()},
	})
	if err != nil {
		return "", err
	}
	named := manifest.descriptor()
	// containerd and docker read the first annotation, podman the second:
	// both the full reference, as an engine would name the image.
	named["annotations"] = map[string]string{
		"io.containerd.image.name":          normalizedRef(spec.ref),
		"org.opencontainers.image.ref.name": normalizedRef(spec.ref),
	}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{named}})
	if err != nil {
		return "", err
	}

	var archive bytes.Buffer
	files := tar.NewWriter(&archive)
	add := func(name string, content []byte) error {
		if err := files.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := files.Write(content)
		return err
	}
	if err := add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return "", err
	}
	if err := add("index.json", index); err != nil {
		return "", err
	}
	for _, b := range []blob{base, app, config, manifest} {
		if err := add("blobs/sha256/"+strings.TrimPrefix(b.digest(), "sha256:"), b.content); err != nil {
			return "", err
		}
	}
	if err := files.Close(); err != nil {
		return "", err
	}
	temporary := path + ".partial"
	if err := os.WriteFile(temporary, archive.Bytes(), 0o644); err != nil {
		return "", err
	}
	return manifest.digest(), os.Rename(temporary, path)
}

func jsonBlob(mediaType string, value any) (blob, error) {
	content, err := json.Marshal(value)
	return blob{mediaType: mediaType, content: content}, err
}

// layerFile is one entry of a layer.
type layerFile struct {
	name    string
	mode    int64
	uid     int
	content []byte
	dir     bool
}

// layer tars and gzips files; it returns the blob and its diff id (the
// digest of the uncompressed tar).
func layer(files []layerFile) (blob, string, error) {
	var plain bytes.Buffer
	archive := tar.NewWriter(&plain)
	for _, f := range files {
		header := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if f.dir {
			header.Typeflag, header.Name = tar.TypeDir, f.name+"/"
		} else {
			header.Typeflag, header.Size = tar.TypeReg, int64(len(f.content))
		}
		if err := archive.WriteHeader(header); err != nil {
			return blob{}, "", err
		}
		if _, err := archive.Write(f.content); err != nil {
			return blob{}, "", err
		}
	}
	if err := archive.Close(); err != nil {
		return blob{}, "", err
	}
	diffID := sha256.Sum256(plain.Bytes())
	var compressed bytes.Buffer
	zipper, err := gzip.NewWriterLevel(&compressed, gzip.BestSpeed)
	if err != nil {
		return blob{}, "", err
	}
	if _, err := io.Copy(zipper, &plain); err != nil {
		return blob{}, "", err
	}
	if err := zipper.Close(); err != nil {
		return blob{}, "", err
	}
	return blob{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", content: compressed.Bytes()},
		"sha256:" + hex.EncodeToString(diffID[:]), nil
}

// baseLayer is what a static Go program needs of an operating system: CA
// certificates (Debian's ca-certificates, from this machine), a passwd and
// group naming the non-root user, its home, and a world-writable /tmp.
func baseLayer() (blob, string, error) {
	certificates, err := os.ReadFile(caBundle)
	if errors.Is(err, os.ErrNotExist) {
		return blob{}, "", fmt.Errorf("%s is missing: install the CA certificates (apt-get install ca-certificates)", caBundle)
	}
	if err != nil {
		return blob{}, "", err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonrootUID, nonrootUID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonrootUID)
	return layer([]layerFile{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, content: []byte(group)},
		{name: "etc/passwd", mode: 0o644, content: []byte(passwd)},
		{name: "etc/ssl", mode: 0o755, dir: true},
		{name: "etc/ssl/certs", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, content: certificates},
		{name: "home", mode: 0o755, dir: true},
		{name: "home/nonroot", mode: 0o700, uid: nonrootUID, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
		{name: "usr", mode: 0o755, dir: true},
		{name: "usr/local", mode: 0o755, dir: true},
		{name: "usr/local/bin", mode: 0o755, dir: true},
	})
}

func binaryLayer(binary, target string) (blob, string, error) {
	content, err := os.ReadFile(binary)
	if err != nil {
		return blob{}, "", err
	}
	return layer([]layerFile{{name: strings.TrimPrefix(filepath.Clean(target), "/"), mode: 0o755, content: content}})
}

// normalizedRef is ref as container engines store it: with the registry
// (docker.io unless one is named) and, for Docker Hub's top level,
// "library/" (the kubelet asks containerd for the normalized name).
func normalizedRef(ref string) string {
	first, rest, found := strings.Cut(ref, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return ref
	}
	if !found {
		return "docker.io/library/" + ref
	}
	return "docker.io/" + first + "/" + rest
}
