package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// The co2 command-line client against the real system: the binary built
// from tools/co2, run as a person or a script would, with its login in a
// config directory of its own.

var (
	co2Once   sync.Once
	co2Binary string
	co2Err    error
)

// co2Bin builds tools/co2 once for the package.
func co2Bin(t *testing.T) string {
	t.Helper()
	co2Once.Do(func() {
		root, err := stack.Root()
		if err != nil {
			co2Err = err
			return
		}
		co2Binary = filepath.Join(binDir, "co2")
		build := exec.Command("go", "build", "-o", co2Binary, "./tools/co2")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			co2Err = fmt.Errorf("build co2: %w\n%s", err, out)
		}
	})
	if co2Err != nil {
		t.Fatal(co2Err)
	}
	return co2Binary
}

// cliUser is a person at a terminal: a config directory (where co2 keeps
// the login) and the gateway and issuer co2 is pointed at.
type cliUser struct {
	configDir string
	env       []string
}

// newCLIUser is someone with no login yet.
func newCLIUser(t *testing.T, sys *system) *cliUser {
	t.Helper()
	dir := t.TempDir()
	return &cliUser{configDir: dir, env: []string{
		"XDG_CONFIG_HOME=" + dir, "HOME=" + dir, "CO2_GATEWAY=" + sys.Gateway, "CO2_ISSUER=" + dex.IssuerURL,
	}}
}

// loggedIn is a user whose token file holds a login of the dev user name
// (password grant with a refresh token, as co2 login would have kept).
func loggedIn(t *testing.T, sys *system, name string) *cliUser {
	t.Helper()
	user := newCLIUser(t, sys)
	user.seedLogin(t, dexLogin(t, name), time.Now().Add(time.Hour))
	return user
}

// dexToken is Dex's answer to a login.
type dexToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// dexLogin logs the dev user name in with the password grant, asking for
// a refresh token.
func dexLogin(t *testing.T, name string) dexToken {
	t.Helper()
	form := url.Values{
		"grant_type": {"password"}, "client_id": {stack.CLIClient},
		"username": {name + "@example.com"}, "password": {stack.DevPassword},
		"scope": {"openid email profile groups offline_access audience:server:client_id:" + stack.Audience},
	}
	response, err := http.PostForm(dex.IssuerURL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var token dexToken
	if err := json.NewDecoder(response.Body).Decode(&token); err != nil || token.AccessToken == "" || token.RefreshToken == "" {
		t.Fatalf("login %s: %s %v %+v", name, response.Status, err, token)
	}
	return token
}

// seedLogin writes the token file co2 login writes.
func (u *cliUser) seedLogin(t *testing.T, token dexToken, expiry time.Time) {
	t.Helper()
	login := map[string]any{
		"issuer": dex.IssuerURL, "clientId": stack.CLIClient, "grant": "device_code",
		"token": map[string]any{"access_token": token.AccessToken, "token_type": token.TokenType, "refresh_token": token.RefreshToken, "expiry": expiry.UTC().Format(time.RFC3339)},
	}
	raw, _ := json.Marshal(login)
	if err := os.MkdirAll(filepath.Join(u.configDir, "co2"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u.tokenFile(), raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (u *cliUser) tokenFile() string { return filepath.Join(u.configDir, "co2", "token.json") }

// cliRun is what a run of co2 printed and its exit status.
type cliRun struct {
	stdout, stderr string
	status         int
}

// co2 runs the client with args and waits for it.
func (u *cliUser) co2(t *testing.T, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, co2Bin(t), args...)
	cmd.Env = append(os.Environ(), u.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := cliRun{stdout: stdout.String(), stderr: stderr.String()}
	if exit := new(exec.ExitError); errors.As(err, &exit) {
		run.status = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("co2 %v: %v", args, err)
	}
	return run
}

// ok runs co2 and fails the test unless it succeeded.
func (u *cliUser) ok(t *testing.T, args ...string) string {
	t.Helper()
	run := u.co2(t, args...)
	if run.status != 0 {
		t.Fatalf("co2 %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), run.status, run.stdout, run.stderr)
	}
	return run.stdout
}

// okJSON runs co2 --output json and decodes what it printed.
func (u *cliUser) okJSON(t *testing.T, into any, args ...string) {
	t.Helper()
	out := u.ok(t, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), into); err != nil {
		t.Fatalf("co2 %s --output json: not JSON (%v): %s", strings.Join(args, " "), err, out)
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLICommandsAgainstTheRealGateway(t *testing.T) {
	sys := startSystem(t)
	admin := loggedIn(t, sys, "admin")

	// labs create / list / show
	var lab struct{ ID, Code, Name, Country string }
	admin.okJSON(t, &lab, "labs", "create", "--code", "CLI-LAB", "--name", "Lab of the CLI", "--country", "CH")
	if lab.ID == "" || lab.Code != "CLI-LAB" || lab.Country != "CH" {
		t.Fatalf("labs create: %+v", lab)
	}
	if got := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs/"+lab.ID, ""); got["name"] != "Lab of the CLI" {
		t.Fatalf("the lab co2 created, read over REST: %v", got)
	}
	if out := admin.ok(t, "labs", "list"); !strings.Contains(out, "CLI-LAB") || !strings.Contains(out, "Lab of the CLI") || !strings.Contains(out, lab.ID) {
		t.Fatalf("labs list shows no CLI-LAB:\n%s", out)
	}
	var listed []struct{ ID, Code string }
	admin.okJSON(t, &listed, "labs", "list")
	if len(listed) != 1 || listed[0].ID != lab.ID {
		t.Fatalf("labs list --output json: %+v", listed)
	}
	if out := admin.ok(t, "labs", "show", "cli-lab"); !strings.Contains(out, lab.ID) || !strings.Contains(out, "Lab of the CLI") {
		t.Fatalf("labs show by code:\n%s", out)
	}

	// templates get -o file: the same CSV the API publishes
	template := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/templates/equipment", "")
	file := filepath.Join(t.TempDir(), "equipment.csv")
	admin.ok(t, "templates", "get", "equipment", "-o", file)
	if got, _ := os.ReadFile(file); string(got) != template["csv"] {
		t.Fatalf("templates get wrote %q, the API's template is %q", got, template["csv"])
	}

	// import: a WARNING (one row of three rejected) succeeds, with the
	// rejected row in a table
	csv := writeTemp(t, "lab-equipment.csv", equipmentHeader+
		"Freezer,scientific,1,168,350,0,0\n"+
		"Oven,scientific,1,200,10,0,0\n"+
		"Server,it,2,168,200,0,0\n")
	run := admin.co2(t, "import", csv, "--lab", "CLI-LAB", "--kind", "equipment", "--year", "2025")
	if run.status != 0 || !strings.Contains(run.stdout, "WARNING") || !strings.Contains(run.stdout, "3 read, 2 imported, 1 rejected") ||
		!regexp.MustCompile(`ROW\s+COLUMN\s+MESSAGE\n3\s+active_hours_per_week\s+`).MatchString(run.stdout) {
		t.Fatalf("import with a rejected row: exit %d\n%s\n%s", run.status, run.stdout, run.stderr)
	}
	// --output json: the finished job; imports watch of it shows the same
	var job struct {
		ID, State, Result    string
		RowsOK, RowsRejected int
		FirstErrors          []struct{ Row int }
	}
	// The same file again: refused as a duplicate unless asked for.
	if run := admin.co2(t, "import", csv, "--lab", lab.ID, "--kind", "equipment", "--year", "2025", "--replace"); run.status == 0 ||
		!strings.Contains(run.stderr, "imported already") || !strings.Contains(run.stderr, "--allow-duplicate") {
		t.Fatalf("the same file again: exit %d\n%s\n%s", run.status, run.stdout, run.stderr)
	}
	admin.okJSON(t, &job, "import", csv, "--lab", lab.ID, "--kind", "equipment", "--year", "2025", "--replace", "--allow-duplicate")
	if job.State != "FINISHED" || job.Result != "WARNING" || job.RowsOK != 2 || job.RowsRejected != 1 || len(job.FirstErrors) != 1 || job.FirstErrors[0].Row != 3 {
		t.Fatalf("import --output json: %+v", job)
	}
	if status := mustCall(t, 200, "GET", sys.Gateway+"/api/v1/imports/"+job.ID+"/status", ""); status["mode"] != "replace" {
		t.Fatalf("import --replace made a job of mode %v", status["mode"])
	}
	if out := admin.ok(t, "imports", "watch", job.ID); !strings.Contains(out, "FINISHED: WARNING") {
		t.Fatalf("imports watch of a finished job:\n%s", out)
	}
	// every row rejected: the job ends ERROR, and so does co2
	bad := writeTemp(t, "bad.csv", equipmentHeader+"Oven,scientific,1,200,10,0,0\n")
	if run := admin.co2(t, "import", bad, "--lab", "CLI-LAB", "--kind", "equipment", "--year", "2024"); run.status != 1 || !strings.Contains(run.stderr, "ended ERROR") {
		t.Fatalf("an import that ends ERROR: exit %d\n%s\n%s", run.status, run.stdout, run.stderr)
	}

	// report: the table's total is the API's, to the tenth of a kg
	status, report := call(t, "admin", "GET", sys.Gateway+"/api/v1/reports/"+lab.ID+"?year=2025", "")
	if status != 200 {
		t.Fatalf("report over REST: %d %v", status, report)
	}
	total := report["total"].(map[string]any)["kgCo2e"].(float64)
	out := admin.ok(t, "report", "CLI-LAB", "--year", "2025")
	if !regexp.MustCompile(`Total\s+`+regexp.QuoteMeta(formatKg(total))+`\s`).MatchString(out) || !strings.Contains(out, "equipment") {
		t.Fatalf("report table, want total %s:\n%s", formatKg(total), out)
	}
	// without --year: the latest year with data (2025; 2024's import failed)
	if out := admin.ok(t, "report", "CLI-LAB"); !strings.Contains(out, "2025") {
		t.Fatalf("report without --year:\n%s", out)
	}
	var jsonReport struct{ Total struct{ KgCo2e float64 } }
	admin.okJSON(t, &jsonReport, "report", "CLI-LAB", "--year", "2025")
	if jsonReport.Total.KgCo2e != total {
		t.Fatalf("report --output json total %v, REST %v", jsonReport.Total.KgCo2e, total)
	}
	csvFile := filepath.Join(t.TempDir(), "report.csv")
	admin.ok(t, "report", "CLI-LAB", "--year", "2025", "--format", "csv", "-o", csvFile)
	if got, _ := os.ReadFile(csvFile); !bytes.Equal(got, rawGet(t, sys.Gateway+"/api/v1/reports/"+lab.ID+"?year=2025&format=csv")) {
		t.Fatalf("report --format csv wrote:\n%s", got)
	}
	svgFile := filepath.Join(t.TempDir(), "report.svg")
	admin.ok(t, "report", "CLI-LAB", "--year", "2025", "--format", "svg", "-o", svgFile)
	if got, _ := os.ReadFile(svgFile); !bytes.Contains(got, []byte("<svg")) {
		t.Fatalf("report --format svg wrote:\n%.200s", got)
	}

	// export: created, waited for, downloaded: the ZIP the server made
	zipFile := filepath.Join(t.TempDir(), "export.zip")
	var exported struct {
		Export struct{ ID, Status string }
		File   string
	}
	admin.okJSON(t, &exported, "export", "CLI-LAB", "--year", "2025", "-o", zipFile)
	got, err := os.ReadFile(zipFile)
	if err != nil || exported.Export.Status != "done" || exported.File != zipFile {
		t.Fatalf("export: %+v %v", exported, err)
	}
	if want := rawGet(t, sys.Gateway+"/api/v1/reports/"+lab.ID+"/exports/"+exported.Export.ID+":download"); !bytes.Equal(got, want) || len(want) == 0 {
		t.Fatalf("export wrote %d bytes, the server's ZIP has %d", len(got), len(want))
	}
	if lines := zipLines(t, got); lines < 2 {
		t.Fatalf("export: %d lines in the ZIP, want a header and the lab's rows", lines)
	}
	// in a terminal-less run, text output names the file
	if out := admin.ok(t, "export", "CLI-LAB", "--year", "2025", "-o", zipFile); !strings.Contains(out, "to "+zipFile) {
		t.Fatalf("export says: %s", out)
	}
}

// formatKg writes kg as co2's tables do.
func formatKg(value float64) string {
	text := fmt.Sprintf("%.1f", value)
	whole, fraction, _ := strings.Cut(text, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return whole + "." + fraction
}

// rawGet reads an answer's bytes as admin.
func rawGet(t *testing.T, target string) []byte {
	t.Helper()
	request, _ := http.NewRequest(http.MethodGet, target, nil)
	request.Header.Set("Authorization", "Bearer "+tokens["admin"])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	return raw
}

func TestCLIErrorsSayWhatToDo(t *testing.T) {
	sys := startSystem(t)
	outsider := loggedIn(t, sys, "outsider")
	admin := loggedIn(t, sys, "admin")
	var lab struct{ ID string }
	admin.okJSON(t, &lab, "labs", "create", "--code", "HIDDEN", "--name", "Not the outsider's", "--country", "CH")

	for _, tc := range []struct {
		name string
		user *cliUser
		args []string
		want string
	}{
		{"no login", newCLIUser(t, sys), []string{"labs", "list"}, "not logged in: run co2 login"},
		{"a lab the caller cannot see (id)", outsider, []string{"labs", "show", lab.ID}, "no lab " + lab.ID + " you can see"},
		{"a lab the caller cannot see (code)", outsider, []string{"report", "HIDDEN", "--year", "2025"}, "no lab HIDDEN you can see"},
		{"an unknown import", admin, []string{"imports", "watch", "00000000-0000-0000-0000-000000000000"}, "no import 00000000-0000-0000-0000-000000000000 you can see"},
		{"a token the gateway refuses", withEnv(admin, "CO2_TOKEN=not-a-token"), []string{"labs", "list"}, "run co2 login"},
		{"no gateway there", withEnv(admin, "CO2_GATEWAY=http://127.0.0.1:1"), []string{"labs", "list"}, "is the gateway running at http://127.0.0.1:1? (make run)"},
		{"an issuer without client credentials", newCLIUser(t, sys), []string{"login", "--client-credentials", "--client-id", stack.ServicesClient, "--client-secret", dex.ServicesSecret}, "unsupported_grant_type"},
		{"a year missing", admin, []string{"import", "x.csv", "--lab", "HIDDEN", "--kind", "equipment"}, `required flag(s) "year" not set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := tc.user.co2(t, tc.args...)
			if run.status == 0 || !strings.Contains(run.stderr, tc.want) {
				t.Fatalf("co2 %s: exit %d, stderr %q, want it to say %q", strings.Join(tc.args, " "), run.status, run.stderr, tc.want)
			}
		})
	}
}

// withEnv is the user with more environment.
func withEnv(u *cliUser, env ...string) *cliUser {
	return &cliUser{configDir: u.configDir, env: append(append([]string{}, u.env...), env...)}
}

func TestCLIRenewsAnExpiredLoginWithItsRefreshToken(t *testing.T) {
	sys := startSystem(t)
	user := newCLIUser(t, sys)
	login := dexLogin(t, "admin")
	user.seedLogin(t, login, time.Now().Add(-time.Minute))
	user.ok(t, "labs", "list")
	raw, err := os.ReadFile(user.tokenFile())
	if err != nil {
		t.Fatal(err)
	}
	var kept struct {
		Token struct {
			AccessToken string    `json:"access_token"`
			Expiry      time.Time `json:"expiry"`
		}
	}
	if err := json.Unmarshal(raw, &kept); err != nil {
		t.Fatal(err)
	}
	if kept.Token.AccessToken == login.AccessToken || !kept.Token.Expiry.After(time.Now()) {
		t.Fatalf("the token file after a renewal: %s", raw)
	}
	if info, _ := os.Stat(user.tokenFile()); info.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", info.Mode().Perm())
	}
	// A refresh token Dex no longer honours: log in again.
	user.seedLogin(t, dexToken{AccessToken: login.AccessToken, RefreshToken: "revoked", TokenType: "bearer"}, time.Now().Add(-time.Minute))
	if run := user.co2(t, "labs", "list"); run.status == 0 || !strings.Contains(run.stderr, "could not be renewed") || !strings.Contains(run.stderr, "run co2 login") {
		t.Fatalf("a refresh refused: exit %d, %s", run.status, run.stderr)
	}
}

func TestCLIDeviceLoginApprovedInTheBrowser(t *testing.T) {
	sys := startSystem(t)
	user := newCLIUser(t, sys)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, co2Bin(t), "login")
	cmd.Env = append(os.Environ(), user.env...)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The terminal shows where to go and the code.
	var page, code string
	deadline := time.Now().Add(30 * time.Second)
	for page == "" {
		if match := regexp.MustCompile(`(?s)open this page in a browser:\s+(\S+)\s+and check that it shows the code (\S+)`).FindStringSubmatch(stderr.String()); match != nil {
			page, code = match[1], match[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("co2 login shows no page and code: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A person opens the page, types the code, logs in as manager.
	browser := newBrowser(t)
	form := browser.get(t, page)
	form = browser.submit(t, form, url.Values{"user_code": {code}})
	final := browser.submit(t, form, url.Values{"login": {"manager@example.com"}, "password": {stack.DevPassword}})
	if !strings.Contains(final.body, "Login Successful") && !strings.Contains(final.body, "successful") {
		t.Fatalf("Dex's last page after the approval: %.500s", final.body)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("co2 login: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "as manager@example.com") {
		t.Fatalf("co2 login says: %s", stdout.String())
	}
	if info, err := os.Stat(user.tokenFile()); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	// The gateway takes the token the device login kept.
	if listed := user.ok(t, "labs", "list", "--output", "json"); !strings.HasPrefix(strings.TrimSpace(listed), "[") {
		t.Fatalf("labs list after the device login: %s", listed)
	}
	// logout forgets it
	user.ok(t, "logout")
	if _, err := os.Stat(user.tokenFile()); !os.IsNotExist(err) {
		t.Fatalf("the token file after logout: %v", err)
	}
	if run := user.co2(t, "labs", "list"); run.status == 0 || !strings.Contains(run.stderr, "run co2 login") {
		t.Fatalf("labs list after logout: exit %d, %s", run.status, run.stderr)
	}
}

// browser is an HTTP client with cookies that follows redirects, as a
// person's browser does.
type browser struct{ client *http.Client }

// page is a page the browser shows.
type page struct {
	url  *url.URL
	body string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) get(t *testing.T, target string) page {
	t.Helper()
	response, err := b.client.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, response)
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// submit posts the page's form with fields, as its button does.
func (b *browser) submit(t *testing.T, from page, fields url.Values) page {
	t.Helper()
	match := formAction.FindStringSubmatch(from.body)
	if match == nil {
		t.Fatalf("no form on %s: %.800s", from.url, from.body)
	}
	action, err := from.url.Parse(html.UnescapeString(match[1]))
	if err != nil {
		t.Fatal(err)
	}
	response, err := b.client.PostForm(action.String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, response)
}

func readPage(t *testing.T, response *http.Response) page {
	t.Helper()
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%.800s", response.Request.URL, response.Status, raw)
	}
	return page{url: response.Request.URL, body: string(raw)}
}

// syncBuffer is a buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
