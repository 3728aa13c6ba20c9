package deploycheck

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const root = "../.."

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Restart     string            `yaml:"restart"`
	} `yaml:"services"`
}

// variablesRead lists the environment variables a service's code reads:
// every env tag in the platform module and in the service's own module.
func variablesRead(t *testing.T, service string) map[string]bool {
	t.Helper()
	tag := regexp.MustCompile(`env:"([A-Z0-9_]+)`)
	read := map[string]bool{}
	for _, dir := range []string{"services/platform", "services/" + service} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, entry os.DirEntry, err error) error {
			if err != nil || entry.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			source, err := os.ReadFile(path)
			for _, match := range tag.FindAllStringSubmatch(string(source), -1) {
				read[match[1]] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return read
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "deploy/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return compose
}

var services = map[string]struct {
	port  string
	needs []string
}{
	"labs":      {"8001", []string{"DB_URL", "OAUTH_ISSUER_URL", "OAUTH_AUDIENCE", "INGEST_URL", "CALC_URL", "REPORTING_URL", "LISTEN_ADDR", "OAUTH_CLIENT_ID", "OAUTH_SERVICE_GRANT"}},
	"ingest":    {"8002", []string{"DB_URL", "REDIS_URL", "OAUTH_ISSUER_URL", "OAUTH_AUDIENCE", "LABS_URL", "CALC_URL", "LISTEN_ADDR"}},
	"calc":      {"8003", []string{"DB_URL", "REDIS_URL", "OAUTH_ISSUER_URL", "OAUTH_AUDIENCE", "LABS_URL", "INGEST_URL", "LISTEN_ADDR", "OAUTH_CLIENT_ID", "OAUTH_SERVICE_GRANT"}},
	"reporting": {"8004", []string{"DB_URL", "REDIS_URL", "OAUTH_ISSUER_URL", "OAUTH_AUDIENCE", "LABS_URL", "CALC_URL", "LISTEN_ADDR", "OAUTH_CLIENT_ID", "OAUTH_SERVICE_GRANT"}},
	"gateway":   {"8000", []string{"REDIS_URL", "OAUTH_ISSUER_URL", "OAUTH_AUDIENCE", "LABS_URL", "INGEST_URL", "CALC_URL", "REPORTING_URL", "LISTEN_ADDR"}},
}

func TestComposeSetsWhatEachServiceReads(t *testing.T) {
	compose := loadCompose(t)
	for name, spec := range services {
		service, ok := compose.Services[name]
		if !ok {
			t.Fatalf("compose.yaml has no %s", name)
		}
		read := variablesRead(t, name)
		for variable := range service.Environment {
			if !read[variable] {
				t.Errorf("%s: compose sets %s, which the service does not read", name, variable)
			}
		}
		for _, variable := range spec.needs {
			if service.Environment[variable] == "" {
				t.Errorf("%s: compose does not set %s", name, variable)
			}
		}
		if listen := service.Environment["LISTEN_ADDR"]; listen != ":"+spec.port {
			t.Errorf("%s listens on %q, want :%s", name, listen, spec.port)
		}
		if service.Image != composeImage(name) {
			t.Errorf("%s runs image %q, want %s", name, service.Image, composeImage(name))
		}
	}
	// Every URL naming a service names the port it listens on.
	for name, service := range compose.Services {
		for variable, value := range service.Environment {
			upstream, isURL := strings.CutSuffix(variable, "_URL")
			spec, isService := services[strings.ToLower(upstream)]
			if !isURL || !isService {
				continue
			}
			parsed, err := url.Parse(value)
			if err != nil || parsed.Hostname() != strings.ToLower(upstream) || parsed.Port() != spec.port {
				t.Errorf("%s: %s=%s, want http://%s:%s", name, variable, value, strings.ToLower(upstream), spec.port)
			}
		}
	}
	// Migrations run, one per schema, with the binary's migrate command.
	for _, schema := range []string{"labs", "ingest", "calc", "reporting"} {
		migrate := compose.Services[schema+"-migrate"]
		if strings.Join(migrate.Command, " ") != "migrate up" || migrate.Environment["DB_URL"] == "" {
			t.Errorf("%s-migrate: %v %v", schema, migrate.Command, migrate.Environment)
		}
		if migrate.Image != composeImage(schema) {
			t.Errorf("%s-migrate runs %q, not the %s image", schema, migrate.Image, schema)
		}
		// Under podman, which waits for no condition, a migration may
		// start before PostgreSQL: it tries again until it succeeds.
		if migrate.Restart != "on-failure" {
			t.Errorf("%s-migrate restarts %q, want on-failure", schema, migrate.Restart)
		}
	}
}

func TestDexMatchesTheServices(t *testing.T) {
	compose := loadCompose(t)
	raw, err := os.ReadFile(filepath.Join(root, "deploy/dev/dex/dex.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dex struct {
		Issuer        string `yaml:"issuer"`
		StaticClients []struct {
			ID           string   `yaml:"id"`
			Secret       string   `yaml:"secret"`
			TrustedPeers []string `yaml:"trustedPeers"`
		} `yaml:"staticClients"`
		StaticPasswords []struct {
			Email  string   `yaml:"email"`
			Groups []string `yaml:"groups"`
		} `yaml:"staticPasswords"`
	}
	if err := yaml.Unmarshal(raw, &dex); err != nil {
		t.Fatal(err)
	}
	calc := compose.Services["calc"].Environment
	if dex.Issuer != calc["OAUTH_ISSUER_URL"] {
		t.Errorf("Dex's issuer %s, the services trust %s", dex.Issuer, calc["OAUTH_ISSUER_URL"])
	}
	clients := map[string]string{}
	for _, client := range dex.StaticClients {
		clients[client.ID] = client.Secret
		if client.ID == calc["OAUTH_AUDIENCE"] && !slices.Contains(client.TrustedPeers, calc["OAUTH_CLIENT_ID"]) {
			t.Errorf("the audience client does not trust %s", calc["OAUTH_CLIENT_ID"])
		}
	}
	if clients[calc["OAUTH_CLIENT_ID"]] != calc["OAUTH_CLIENT_SECRET"] {
		t.Errorf("calc's client secret does not match Dex's")
	}
	for _, name := range []string{"calc", "reporting"} {
		account := compose.Services[name].Environment["OAUTH_SERVICE_USERNAME"]
		found := false
		for _, user := range dex.StaticPasswords {
			if user.Email == account && slices.Contains(user.Groups, "service:"+name) {
				found = true
			}
		}
		if !found {
			t.Errorf("Dex has no service account %s (%s) in the group service:%s", account, name, name)
		}
	}
}

// composeImage is the image compose runs for a program: what make images
// (tools/images) builds, of the tag make docker-up gives.
func composeImage(name string) string {
	return "${IMAGE_REPOSITORY:-localhost/co2-calculator}/" + name + ":${IMAGE_TAG:-latest}"
}

func TestEveryServiceBuildsAloneAsItsImageDoes(t *testing.T) {
	for name := range services {
		if _, err := os.Stat(filepath.Join(root, "services", name, "cmd", name, "main.go")); err != nil {
			t.Errorf("%s has no main package: %v", name, err)
		}
		// tools/images builds the module on its own: its go.sum must hold
		// everything it and its sibling modules import.
		build := exec.Command("go", "build", "-o", os.DevNull, "./cmd/"+name)
		build.Dir = filepath.Join(root, "services", name)
		build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
		if out, err := build.CombinedOutput(); err != nil {
			t.Errorf("GOWORK=off go build of %s (as in its image) fails: %v\n%s", name, err, out)
		}
	}
}

// Each service acting on its own logs in as itself on a cluster: the
// Secret the chart gives labs, calc and reporting names a Dex account in
// that service's own group (service:<name>), as skaffold and make test-k8s
// deploy them. Internal calls are allowed by that role, so one account
// shared by the three gets every internal call but its own refused.
func TestTheChartLogsEachServiceInAsItself(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "deploy/dev/dex/dex.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dex struct {
		StaticPasswords []struct {
			Email  string   `yaml:"email"`
			Groups []string `yaml:"groups"`
		} `yaml:"staticPasswords"`
	}
	if err := yaml.Unmarshal(raw, &dex); err != nil {
		t.Fatal(err)
	}
	groups := map[string][]string{}
	for _, user := range dex.StaticPasswords {
		groups[user.Email] = user.Groups
	}
	file, err := os.Open(filepath.Join(root, "deploy/dev/dex/identities.k8s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = file.Close() }()
	usernames := map[string]string{}
	for decoder := yaml.NewDecoder(file); ; {
		var secret struct {
			Metadata   struct{ Name string } `yaml:"metadata"`
			StringData map[string]string     `yaml:"stringData"`
		}
		if decoder.Decode(&secret) != nil {
			break
		}
		usernames[secret.Metadata.Name] = secret.StringData["OAUTH_SERVICE_USERNAME"]
	}
	for _, values := range []string{"charts/co2-calculator/ci/dev-values.yaml", "tools/k8s/test-values.yaml"} {
		deployments := ofKind(renderObjects(t, "-f", values), "Deployment")
		for _, name := range []string{"labs", "calc", "reporting"} {
			var secret string
			for _, variable := range asList(dig(deployments["co2-"+name], "spec", "template", "spec", "containers", 0, "env")) {
				if dig(variable, "name") == "OAUTH_SERVICE_USERNAME" {
					secret, _ = dig(variable, "valueFrom", "secretKeyRef", "name").(string)
				}
			}
			account := usernames[secret]
			if !slices.Contains(groups[account], "service:"+name) {
				t.Errorf("%s: %s logs in with Secret %q, account %q of groups %v: not in service:%s",
					values, name, secret, account, groups[account], name)
			}
		}
	}
}
