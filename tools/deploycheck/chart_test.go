package deploycheck

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// helm returns the pinned helm, building it (make .bin/helm) when missing.
func helm(t *testing.T) string {
	t.Helper()
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(absRoot, ".bin", "helm")
	if _, err := os.Stat(binary); err != nil {
		if out, err := exec.Command("make", "-C", absRoot, binary).CombinedOutput(); err != nil {
			t.Fatalf("build helm: %v\n%s", err, out)
		}
	}
	return binary
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	command := exec.Command(helm(t), args...)
	command.Dir = root
	var out, stderr bytes.Buffer
	command.Stdout, command.Stderr = &out, &stderr
	err := command.Run()
	if err != nil {
		err = errors.New(stderr.String())
	}
	return out.String(), err
}

type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec map[string]any `yaml:"spec"`
}

func render(t *testing.T, valuesFile string) []manifest {
	t.Helper()
	out, err := runHelm(t, "template", "co2", "charts/co2-calculator", "-f", valuesFile)
	if err != nil {
		t.Fatalf("helm template -f %s: %v", valuesFile, err)
	}
	var manifests []manifest
	decoder := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		err := decoder.Decode(&m)
		if errors.Is(err, io.EOF) {
			return manifests
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if m.Kind != "" {
			manifests = append(manifests, m)
		}
	}
}

// dig walks nested maps and lists by keys and indexes.
func dig(value any, path ...any) any {
	for _, step := range path {
		switch key := step.(type) {
		case string:
			object, ok := value.(map[string]any)
			if !ok {
				return nil
			}
			value = object[key]
		case int:
			list, ok := value.([]any)
			if !ok || key >= len(list) {
				return nil
			}
			value = list[key]
		}
	}
	return value
}

func TestTheChartLintsAndRendersForEveryValuesFile(t *testing.T) {
	for _, values := range []string{"minimal", "production", "dev"} {
		file := "charts/co2-calculator/ci/" + values + "-values.yaml"
		if out, err := runHelm(t, "lint", "--strict", "charts/co2-calculator", "-f", file); err != nil {
			t.Fatalf("helm lint %s: %v\n%s", values, err, out)
		}
		kinds := map[string]int{}
		for _, m := range render(t, file) {
			kinds[m.Kind]++
			if m.Kind == "Job" && !strings.Contains(m.Metadata.Annotations["helm.sh/hook"], "pre-upgrade") {
				t.Errorf("%s: job %s is not a pre-install/pre-upgrade hook", values, m.Metadata.Name)
			}
			if m.Kind != "Deployment" && m.Kind != "Job" {
				continue
			}
			pod := dig(m.Spec, "template", "spec")
			if dig(pod, "securityContext", "runAsNonRoot") != true {
				t.Errorf("%s: %s runs as root", values, m.Metadata.Name)
			}
			container := dig(pod, "containers", 0)
			for path, want := range map[string]any{"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false} {
				if dig(container, "securityContext", path) != want {
					t.Errorf("%s: %s: securityContext.%s is not %v", values, m.Metadata.Name, path, want)
				}
			}
			if m.Kind == "Deployment" {
				for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
					if dig(container, probe) == nil {
						t.Errorf("%s: %s has no %s", values, m.Metadata.Name, probe)
					}
				}
			}
		}
		if kinds["Deployment"] != 5 || kinds["Service"] != 5 || kinds["PodDisruptionBudget"] != 5 || kinds["Job"] != 4 {
			t.Errorf("%s renders %v", values, kinds)
		}
		if values != "dev" && kinds["NetworkPolicy"] != 5 {
			t.Errorf("%s: %d network policies", values, kinds["NetworkPolicy"])
		}
	}
}

// Every variable the chart gives a service is one the service reads.
func TestTheChartSetsOnlyVariablesTheServicesRead(t *testing.T) {
	out, err := runHelm(t, "template", "co2", "charts/co2-calculator", "-f", "charts/co2-calculator/ci/production-values.yaml", "-s", "templates/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	decoder := yaml.NewDecoder(strings.NewReader(out))
	configs := 0
	for {
		var config struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Data map[string]string `yaml:"data"`
		}
		if err := decoder.Decode(&config); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		service := config.Metadata.Labels["app.kubernetes.io/name"]
		if service == "" {
			continue
		}
		configs++
		read := variablesRead(t, service)
		for key := range config.Data {
			if !read[key] {
				t.Errorf("the %s ConfigMap sets %s, which %s does not read", service, key, service)
			}
		}
	}
	if configs != 5 {
		t.Fatalf("%d ConfigMaps, want one per service", configs)
	}
	for _, m := range render(t, "charts/co2-calculator/ci/production-values.yaml") {
		if m.Kind != "Deployment" {
			continue
		}
		service := strings.TrimPrefix(m.Metadata.Name, "co2-")
		read := variablesRead(t, service)
		env, _ := dig(m.Spec, "template", "spec", "containers", 0, "env").([]any)
		for _, variable := range env {
			if name, _ := dig(variable, "name").(string); !read[name] {
				t.Errorf("%s sets %s, which it does not read", m.Metadata.Name, name)
			}
		}
	}
}

func TestBadValuesAreRefusedByTheSchema(t *testing.T) {
	_, err := runHelm(t, "template", "co2", "charts/co2-calculator", "-f", "charts/testdata/bad-values.yaml")
	if err == nil {
		t.Fatal("bad values were accepted")
	}
	for _, says := range []string{"port", "billing", "grant"} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("the refusal does not name %s: %v", says, err)
		}
	}
}
