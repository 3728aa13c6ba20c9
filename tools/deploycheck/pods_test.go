package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// renderObjects renders the chart with values files and --set pairs, as
// generic objects.
func renderObjects(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", "co2", "charts/co2-calculator"}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	var objects []map[string]any
	decoder := yaml.NewDecoder(strings.NewReader(out))
	for {
		var object map[string]any
		if err := decoder.Decode(&object); err != nil {
			break
		}
		if object != nil {
			objects = append(objects, object)
		}
	}
	return objects
}

func ofKind(objects []map[string]any, kind string) map[string]map[string]any {
	found := map[string]map[string]any{}
	for _, object := range objects {
		if object["kind"] == kind {
			found[dig(object, "metadata", "name").(string)] = object
		}
	}
	return found
}

// Every probe asks the process something it answers; the gateway's
// readiness does not depend on the upstreams (a reporting outage would
// otherwise empty its Service), and no probe speaks gRPC to the gateway,
// which serves no grpc.health.v1.
func TestProbesAskWhatEachProcessAnswers(t *testing.T) {
	for _, deployment := range ofKind(renderObjects(t), "Deployment") {
		name := strings.TrimPrefix(dig(deployment, "metadata", "name").(string), "co2-")
		container := dig(deployment, "spec", "template", "spec", "containers", 0)
		for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
			path, _ := dig(container, probe, "httpGet", "path").(string)
			want := "/health"
			if probe == "readinessProbe" && name != "gateway" {
				want = "/ready"
			}
			if path != want {
				t.Errorf("%s's %s asks %q (%v), want an HTTP GET of %s", name, probe, path, dig(container, probe), want)
			}
		}
	}
}

// A stopping pod leaves its Services before its process closes, and gets
// the time to finish: preStop, then the HTTP shutdown, then (calc,
// reporting) the workers', within the grace period.
func TestPodsStopWithinTheirGracePeriod(t *testing.T) {
	objects := renderObjects(t, "--set", "shutdown.timeoutSeconds=40", "--set", "shutdown.preStopSeconds=7")
	configs := ofKind(objects, "ConfigMap")
	for name, deployment := range ofKind(objects, "Deployment") {
		pod := dig(deployment, "spec", "template", "spec")
		sleep, _ := dig(pod, "containers", 0, "lifecycle", "preStop", "sleep", "seconds").(int)
		if sleep != 7 {
			t.Errorf("%s: preStop sleeps %v, want 7", name, dig(pod, "containers", 0, "lifecycle"))
		}
		timeout, err := time.ParseDuration(dig(configs[name], "data", "SHUTDOWN_TIMEOUT").(string))
		if err != nil || timeout != 40*time.Second {
			t.Errorf("%s: SHUTDOWN_TIMEOUT %v (%v), want 40s", name, dig(configs[name], "data", "SHUTDOWN_TIMEOUT"), err)
		}
		grace, _ := dig(pod, "terminationGracePeriodSeconds").(int)
		if need := 7 + 2*40; grace <= need {
			t.Errorf("%s: grace period %ds, but stopping may take %ds", name, grace, need)
		}
	}
}

// /tmp is bounded: calc spools imports there.
func TestTmpIsBounded(t *testing.T) {
	for name, deployment := range ofKind(renderObjects(t), "Deployment") {
		volume := dig(deployment, "spec", "template", "spec", "volumes", 0)
		if dig(volume, "name") != "tmp" || dig(volume, "emptyDir", "sizeLimit") == nil {
			t.Errorf("%s: /tmp is %v, want an emptyDir with a sizeLimit", name, volume)
		}
	}
}

// Each service runs its own image: a tag given to one changes only it
// (skaffold tags each image by its own inputs).
func TestEachServiceRunsItsOwnImage(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	objects := renderObjects(t, "--set", "image.repository=registry.example.org/co2", "--set", "image.tag=1.2.3",
		"--set", "services.calc.image.tag=abc", "--set", "services.calc.image.digest="+digest,
		"--set", "services.gateway.image.repository=other.example.org/gw")
	want := map[string]string{
		"co2-labs":      "registry.example.org/co2/labs:1.2.3",
		"co2-ingest":    "registry.example.org/co2/ingest:1.2.3",
		"co2-calc":      "registry.example.org/co2/calc:abc@" + digest,
		"co2-reporting": "registry.example.org/co2/reporting:1.2.3",
		"co2-gateway":   "other.example.org/gw:1.2.3",
	}
	for name, deployment := range ofKind(objects, "Deployment") {
		if image := dig(deployment, "spec", "template", "spec", "containers", 0, "image"); image != want[name] {
			t.Errorf("%s runs %v, want %s", name, image, want[name])
		}
		labels, _ := dig(deployment, "spec", "template", "metadata", "labels").(map[string]any)
		if labels["app.kubernetes.io/version"] != "1.2.3" || labels["app.kubernetes.io/component"] == nil {
			t.Errorf("%s's pods are labelled %v", name, labels)
		}
	}
	for name, job := range ofKind(objects, "Job") {
		service := strings.TrimSuffix(strings.TrimPrefix(name, "co2-"), "-migrate")
		if image := dig(job, "spec", "template", "spec", "containers", 0, "image"); image != want["co2-"+service] {
			t.Errorf("%s runs %v, want %s's image", name, image, service)
		}
	}
	if test := ofKind(objects, "Pod")["co2-smoke-test"]; dig(test, "spec", "containers", 0, "image") != "registry.example.org/co2/smoke:1.2.3" {
		t.Errorf("the chart's test runs %v", dig(test, "spec", "containers", 0, "image"))
	}
}

// skaffold gives every service its own image: each setValueTemplates of a
// service names that service's artifact.
func TestSkaffoldGivesEachServiceItsOwnImage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Build struct {
			Artifacts []struct {
				Image  string         `yaml:"image"`
				Custom map[string]any `yaml:"custom"`
			} `yaml:"artifacts"`
		} `yaml:"build"`
		Manifests struct {
			Helm struct {
				Releases []struct {
					SetValueTemplates map[string]string `yaml:"setValueTemplates"`
				} `yaml:"releases"`
			} `yaml:"helm"`
		} `yaml:"manifests"`
	}
	artifacts := map[string]bool{}
	var values map[string]string
	// skaffold.yaml holds several configs (the dev instances, the chart).
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	for decoder.Decode(&config) == nil {
		for _, artifact := range config.Build.Artifacts {
			artifacts[artifact.Image] = true
			if command, _ := artifact.Custom["buildCommand"].(string); !strings.HasPrefix(command, "go run ./tools/images -skaffold ") {
				t.Errorf("%s is not built by tools/images: %v", artifact.Image, artifact.Custom)
			}
		}
		if releases := config.Manifests.Helm.Releases; len(releases) > 0 {
			values = releases[0].SetValueTemplates
		}
		config.Build.Artifacts, config.Manifests.Helm.Releases = nil, nil
	}
	for service := range services {
		for _, field := range []string{"repository", "tag", "digest"} {
			key := "services." + service + ".image." + field
			variable := map[string]string{"repository": "REPO", "tag": "TAG", "digest": "DIGEST"}[field]
			if want := "{{.IMAGE_" + variable + "_co2_calculator_" + service + "}}"; values[key] != want {
				t.Errorf("%s = %q, want %q", key, values[key], want)
			}
		}
		if !artifacts["co2-calculator/"+service] {
			t.Errorf("skaffold builds no image for %s", service)
		}
	}
}

// What a platform engineer sets reaches the pods: extra variables (all,
// and one service's), annotations, scheduling.
func TestOperatorSettingsReachThePods(t *testing.T) {
	objects := renderObjects(t, "--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://proxy:3128",
		"--set", "services.calc.extraEnv[0].name=IMPORT_LEASE", "--set", "services.calc.extraEnv[0].value=1m",
		"--set", "podAnnotations.team=co2", "--set", "services.gateway.podAnnotations.team=edge",
		"--set", "nodeSelector.pool=apps", "--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists")
	for name, deployment := range ofKind(objects, "Deployment") {
		pod := dig(deployment, "spec", "template", "spec")
		env := map[string]bool{}
		for _, variable := range dig(pod, "containers", 0, "env").([]any) {
			env[dig(variable, "name").(string)] = true
		}
		if !env["HTTPS_PROXY"] || env["IMPORT_LEASE"] != (name == "co2-calc") {
			t.Errorf("%s: env %v", name, env)
		}
		team := "co2"
		if name == "co2-gateway" {
			team = "edge"
		}
		if got := dig(deployment, "spec", "template", "metadata", "annotations", "team"); got != team {
			t.Errorf("%s: annotation team=%v, want %s", name, got, team)
		}
		if dig(pod, "nodeSelector", "pool") != "apps" || dig(pod, "tolerations", 0, "key") != "dedicated" {
			t.Errorf("%s: scheduling %v %v", name, dig(pod, "nodeSelector"), dig(pod, "tolerations"))
		}
		if dig(pod, "topologySpreadConstraints", 0, "whenUnsatisfiable") != "ScheduleAnyway" {
			t.Errorf("%s: no soft spread by default: %v", name, dig(pod, "topologySpreadConstraints"))
		}
	}
}

// A scraper in a configured namespace may reach every service's port;
// an ingress lets uploads as large as the gateway's limit through.
func TestScrapersAndUploadsGetThrough(t *testing.T) {
	objects := renderObjects(t, "--set", "networkPolicy.metricsNamespaces={monitoring}", "--set", "ingress.enabled=true",
		"--set", "maxUploadBytes=1073741824", "--set", "ingress.annotations.extra=kept")
	for name, policy := range ofKind(objects, "NetworkPolicy") {
		admitted := false
		for _, rule := range dig(policy, "spec", "ingress").([]any) {
			for _, from := range asList(dig(rule, "from")) {
				if dig(from, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "monitoring" {
					admitted = true
				}
			}
		}
		if !admitted {
			t.Errorf("%s does not admit the monitoring namespace: %v", name, dig(policy, "spec", "ingress"))
		}
	}
	ingress := ofKind(objects, "Ingress")["co2"]
	annotations, _ := dig(ingress, "metadata", "annotations").(map[string]any)
	if annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != strconv.Itoa(1073741824) || annotations["extra"] != "kept" ||
		annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] != "off" {
		t.Errorf("ingress annotations %v", annotations)
	}
}

// helm test runs the smoke test, and a passed test leaves no pod behind
// (helm uninstall does not remove hooks).
func TestTheChartTestsItselfAndCleansUp(t *testing.T) {
	test := ofKind(renderObjects(t, "--set", "tests.tokenURL=http://dex:5556/dex/token", "--set", "tests.existingSecret=smoke"), "Pod")["co2-smoke-test"]
	annotations, _ := dig(test, "metadata", "annotations").(map[string]any)
	if annotations["helm.sh/hook"] != "test" || !strings.Contains(annotations["helm.sh/hook-delete-policy"].(string), "hook-succeeded") {
		t.Errorf("test pod annotations %v", annotations)
	}
	env := map[string]any{}
	for _, variable := range dig(test, "spec", "containers", 0, "env").([]any) {
		env[dig(variable, "name").(string)] = variable
	}
	if dig(env["SMOKE_GATEWAY"], "value") != "http://co2-gateway:8000" || dig(env["SMOKE_TOKEN_URL"], "value") != "http://dex:5556/dex/token" ||
		dig(env["SMOKE_PASSWORD"], "valueFrom", "secretKeyRef", "name") != "smoke" {
		t.Errorf("test pod env %v", env)
	}
}

func asList(value any) []any {
	list, _ := value.([]any)
	return list
}
