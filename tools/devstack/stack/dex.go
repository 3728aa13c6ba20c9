package stack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Dex is the OIDC provider of make run and the tests: the pinned version in
// tools/dex/go.mod, in-memory storage, static users and clients.

// DevPassword is every dev user's password.
const DevPassword = "password"

// Audience is the client id whose audience every API token carries.
const Audience = "co2-api"

// CLIClient is the public client co2 login (device grant), make token and
// the tests (password grant) log in with.
const CLIClient = "co2-cli"

// GrantTypes are the grants Dex offers: the device grant is what co2 login
// uses with the public CLI client (deploy/dev/dex/dex.yaml says the same).
var GrantTypes = []string{
	"authorization_code",
	"refresh_token",
	"password",
	"urn:ietf:params:oauth:grant-type:device_code",
}

// ServicesClient is the client services use for their own tokens.
const ServicesClient = "co2-services"

// DevUser is a static Dex user.
type DevUser struct {
	Name   string
	Groups []string
}

// Email is the user's login.
func (u DevUser) Email() string {
	if strings.HasPrefix(u.Name, "svc-") {
		return u.Name + "@co2.internal"
	}
	return u.Name + "@example.com"
}

// DevUsers are the people of the dev installation. The roles claim is
// Dex's groups: admin and auditor are global roles; manager and member get
// lab roles from memberships; outsider has nothing.
var DevUsers = []DevUser{
	{Name: "admin", Groups: []string{"admin"}},
	{Name: "auditor", Groups: []string{"auditor"}},
	{Name: "manager"},
	{Name: "member"},
	{Name: "outsider"},
}

// ServiceUsers are the service accounts (the pinned Dex has no
// client-credentials grant; see docs/auth.md).
var ServiceUsers = []DevUser{
	{Name: "svc-labs", Groups: []string{"service:labs"}},
	{Name: "svc-ingest", Groups: []string{"service:ingest"}},
	{Name: "svc-calc", Groups: []string{"service:calc"}},
	{Name: "svc-reporting", Groups: []string{"service:reporting"}},
}

// Dex is a running Dex.
type Dex struct {
	Process   *Process
	IssuerURL string
	// ServicesSecret and ServicePassword are what services log in with.
	ServicesSecret  string
	ServicePassword string
}

// DexBinary builds the pinned Dex into .bin/dex unless the one there was
// built from the same tools/dex/go.mod.
func DexBinary(ctx context.Context, root string, log func(string)) (string, error) {
	return pinnedBinary(ctx, root, "dex", "github.com/dexidp/dex/cmd/dex", "Dex (the dev OIDC provider)", log)
}

// pinnedBinary builds the program pkg, pinned by tools/<name>/go.mod (a
// module of its own, outside the workspace), into .bin/<name>, unless the
// one there was built from the same go.mod.
func pinnedBinary(ctx context.Context, root, name, pkg, what string, log func(string)) (string, error) {
	binary := filepath.Join(root, ".bin", name)
	pin, err := os.ReadFile(filepath.Join(root, "tools", name, "go.mod"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(pin)
	stamp := binary + ".gomod-sha256"
	if built, err := os.ReadFile(stamp); err == nil && string(built) == hex.EncodeToString(sum[:]) {
		if _, err := os.Stat(binary); err == nil {
			return binary, nil
		}
	}
	logf(log, "building %s from tools/%s/go.mod; this takes a while the first time", what, name)
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, pkg)
	build.Dir = filepath.Join(root, "tools", name)
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", name, err, out)
	}
	return binary, os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
}

// StartDex runs Dex on addr (host:port) with its config in dir.
func StartDex(ctx context.Context, root, dir, addr string, out io.Writer, log func(string)) (*Dex, error) {
	binary, err := DexBinary(ctx, root, log)
	if err != nil {
		return nil, err
	}
	dex := &Dex{
		IssuerURL:       "http://" + addr + "/dex",
		ServicesSecret:  randomSecret(),
		ServicePassword: randomSecret(),
	}
	config, err := dexConfig(dex, addr)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		return nil, err
	}
	dex.Process, err = Start("dex", binary, []string{"serve", path}, nil, out)
	if err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, dex.IssuerURL+"/.well-known/openid-configuration", 30*time.Second, dex.Process); err != nil {
		_ = dex.Process.Stop(5 * time.Second)
		return nil, err
	}
	return dex, nil
}

// dexConfig is Dex's configuration, as JSON (which YAML reads).
func dexConfig(dex *Dex, addr string) ([]byte, error) {
	devHash, err := bcrypt.GenerateFromPassword([]byte(DevPassword), dexBcryptCost)
	if err != nil {
		return nil, err
	}
	serviceHash, err := bcrypt.GenerateFromPassword([]byte(dex.ServicePassword), dexBcryptCost)
	if err != nil {
		return nil, err
	}
	var passwords []map[string]any
	for _, user := range DevUsers {
		passwords = append(passwords, map[string]any{
			"email": user.Email(), "hash": string(devHash), "username": user.Name,
			"userID": "dev-" + user.Name, "groups": user.Groups,
		})
	}
	for _, user := range ServiceUsers {
		passwords = append(passwords, map[string]any{
			"email": user.Email(), "hash": string(serviceHash), "username": user.Name,
			"userID": user.Name, "groups": user.Groups,
		})
	}
	return json.MarshalIndent(map[string]any{
		"issuer":  dex.IssuerURL,
		"storage": map[string]any{"type": "memory"},
		"web":     map[string]any{"http": addr},
		"oauth2": map[string]any{
			"passwordConnector": "local", "skipApprovalScreen": true,
			// Named rather than left to Dex's default: co2 login needs the
			// device grant, scripts and tests the password grant, and the
			// tokens' renewal the refresh grant (ADR 022).
			"grantTypes": GrantTypes,
		},
		"expiry": map[string]any{"idTokens": "1h"},
		"logger": map[string]any{"level": "warn"},
		"staticClients": []map[string]any{
			// The API's audience: tokens say they are for it.
			{"id": Audience, "name": "co2-calculator API", "secret": randomSecret(), "trustedPeers": []string{CLIClient, ServicesClient}},
			{"id": CLIClient, "name": "co2-calculator CLI", "public": true},
			{"id": ServicesClient, "name": "co2-calculator services", "secret": dex.ServicesSecret},
		},
		"enablePasswordDB": true,
		"staticPasswords":  passwords,
	}, "", "  ")
}

// Token logs a user in (password grant, CLI client) and returns an access
// token for the API.
func Token(ctx context.Context, issuerURL, email, password string) (string, error) {
	form := url.Values{
		"grant_type": {"password"},
		"client_id":  {CLIClient},
		"username":   {email},
		"password":   {password},
		"scope":      {"openid email profile groups audience:server:client_id:" + Audience},
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, issuerURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", issuerURL, err)
	}
	defer response.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(response.Body).Decode(&answer); err != nil {
		return "", fmt.Errorf("token from %s: %s: %w", issuerURL, response.Status, err)
	}
	if answer.AccessToken == "" {
		return "", fmt.Errorf("token for %s: %s %s", email, answer.Error, answer.Description)
	}
	return answer.AccessToken, nil
}

func randomSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// dexBcryptCost is the lowest cost Dex accepts for password hashes.
const dexBcryptCost = 10
