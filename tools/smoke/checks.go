package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// check is the smoke test: the gateway up and every service ready behind
// it (/ready), the API's description, a refusal without a token, then (with
// credentials) a lab, an import and its report.
func check(ctx context.Context, c *client, rows int, timeout time.Duration, keep bool) error {
	anonymous := &client{gateway: c.gateway, http: c.http}
	for _, path := range []string{"/health", "/ready", "/openapi.json"} {
		if _, err := anonymous.call(ctx, "GET", path, "", nil, 200); err != nil {
			return err
		}
	}
	if _, err := anonymous.json(ctx, "GET", "/api/v1/labs", "", 401); err != nil {
		return fmt.Errorf("without a token: %w", err)
	}
	logf("the gateway and every service answer; the API refuses a request without a token")
	if !c.authenticated() {
		logf("no credentials given: the unauthenticated checks passed")
		return nil
	}
	lab, err := createLab(ctx, c, keep)
	if err != nil {
		return err
	}
	defer lab.purge()
	id, err := upload(ctx, c, lab.id, rows)
	if err != nil {
		return err
	}
	status, err := waitState(ctx, c, id, "FINISHED", timeout)
	if err != nil {
		return err
	}
	if err := verifyImport(ctx, c, lab.id, status, rows); err != nil {
		return err
	}
	logf("PASS")
	return nil
}

// importWhile imports rows and runs command once a worker is under way;
// the import must still end exact, after another attempt.
func importWhile(ctx context.Context, c *client, rows int, command string, timeout time.Duration, keep bool) error {
	if !c.authenticated() {
		return errNoToken
	}
	lab, err := createLab(ctx, c, keep)
	if err != nil {
		return err
	}
	defer lab.purge()
	id, err := upload(ctx, c, lab.id, rows)
	if err != nil {
		return err
	}
	if _, err := waitState(ctx, c, id, "RUNNING", time.Minute); err != nil {
		return err
	}
	logf("import %s running: %s", id, command)
	if err := shell(ctx, command, "SMOKE_IMPORT_ID="+id); err != nil {
		return err
	}
	status, err := c.json(ctx, "GET", "/api/v1/imports/"+id+"/status", "", 200)
	if err != nil {
		return err
	}
	if status["state"] != "RUNNING" {
		return fmt.Errorf("the import was no longer running when the command ended (%v): nothing was tested", status["state"])
	}
	status, err = waitState(ctx, c, id, "FINISHED", timeout)
	if err != nil {
		return err
	}
	if attempts, _ := status["attempts"].(float64); attempts < 2 {
		return fmt.Errorf("the import finished in %v attempt(s): the command did not stop its worker", status["attempts"])
	}
	if err := verifyImport(ctx, c, lab.id, status, rows); err != nil {
		return err
	}
	logf("PASS: finished after %v attempts, exact", status["attempts"])
	return nil
}

// poll reads through every service while command runs; one failed request
// is a failure.
func poll(ctx context.Context, c *client, command string, interval time.Duration, keep bool) error {
	if !c.authenticated() {
		return errNoToken
	}
	lab, err := createLab(ctx, c, keep)
	if err != nil {
		return err
	}
	defer lab.purge()
	reads := []string{
		"/api/v1/labs/" + lab.id,                   // labs
		"/api/v1/reports/" + lab.id + "?year=2025", // reporting, calc, labs
		"/api/v1/labs/" + lab.id + "/imports",      // ingest
		"/api/v1/templates/equipment",              // calc
	}
	done := make(chan error, 1)
	go func() { done <- shell(ctx, command) }()
	var requests, failed int
	var failures []string
	for i := 0; ; i++ {
		select {
		case err := <-done:
			logf("%d requests while the command ran, %d failed", requests, failed)
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d requests failed:\n%s", failed, requests, strings.Join(failures, "\n"))
			}
			logf("PASS")
			return nil
		case <-time.After(interval):
		}
		requests++
		if _, err := c.json(ctx, "GET", reads[i%len(reads)], "", 200); err != nil {
			failed++
			if len(failures) < 20 {
				failures = append(failures, time.Now().UTC().Format("15:04:05.000")+" "+err.Error())
			}
		}
	}
}

type lab struct {
	id    string
	purge func()
}

func createLab(ctx context.Context, c *client, keep bool) (lab, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	code := "SMOKE-" + strings.ToUpper(hex.EncodeToString(suffix[:]))
	answer, err := c.json(ctx, "POST", "/api/v1/labs", fmt.Sprintf(`{"code":%q,"name":"Smoke test","country":"CH"}`, code), 200)
	if err != nil {
		return lab{}, err
	}
	id, _ := answer["id"].(string)
	logf("lab %s (%s) created", code, id)
	return lab{id: id, purge: func() {
		if keep {
			return
		}
		// The lab goes; what calc computed for it stays, unreachable.
		if _, err := c.json(context.WithoutCancel(ctx), "DELETE", "/api/v1/labs/"+id+"?purge=true", "", 200); err != nil {
			logf("the lab %s was not purged: %v", code, err)
		}
	}}, nil
}

// equipmentRow is the one row every test file repeats: identical rows make
// the expected total rows × one row's emissions, whatever the factors.
const equipmentRow = "Smoke test device,it,1,40,60,128,2\n"

func upload(ctx context.Context, c *client, labID string, rows int) (string, error) {
	var csv strings.Builder
	csv.WriteString("equipment_name,category,quantity,active_hours_per_week,active_power_w,standby_hours_per_week,standby_power_w\n")
	for range rows {
		csv.WriteString(equipmentRow)
	}
	answer, err := c.call(ctx, "POST", "/api/v1/labs/"+labID+"/imports?kind=equipment&year=2025&mode=replace",
		"text/csv", strings.NewReader(csv.String()), 202)
	if err != nil {
		return "", err
	}
	imported, _ := answer["import"].(map[string]any)
	id, _ := imported["id"].(string)
	if id == "" {
		return "", fmt.Errorf("the upload's answer names no import: %v", answer)
	}
	logf("import %s of %d rows accepted", id, rows)
	return id, nil
}

func waitState(ctx context.Context, c *client, id, state string, timeout time.Duration) (map[string]any, error) {
	deadline := time.Now().Add(timeout)
	for {
		status, err := c.json(ctx, "GET", "/api/v1/imports/"+id+"/status", "", 200)
		if err != nil {
			return nil, err
		}
		if status["state"] == state {
			return status, nil
		}
		if status["state"] == "FINISHED" || time.Now().After(deadline) {
			return nil, fmt.Errorf("import %s: waited for %s, got %v", id, state, status)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// verifyImport checks the import's counts, and that the lab's report
// totals exactly rows times one row's emissions: no row lost, none twice.
func verifyImport(ctx context.Context, c *client, labID string, status map[string]any, rows int) error {
	if status["result"] != "SUCCESS" || fmt.Sprint(status["rowsOk"]) != strconv.Itoa(rows) {
		return fmt.Errorf("import: %v", status)
	}
	list, err := c.json(ctx, "GET", "/api/v1/labs/"+labID+"/activities?year=2025&page_size=1", "", 200)
	if err != nil {
		return err
	}
	activities, _ := list["activities"].([]any)
	if len(activities) == 0 {
		return errors.New("the lab has no activities after its import")
	}
	perRow := 0.0
	emissions, _ := activities[0].(map[string]any)["emissions"].([]any)
	for _, e := range emissions {
		emission, _ := e.(map[string]any)
		if variant, _ := emission["variant"].(string); variant == "" {
			kg, _ := emission["kgCo2e"].(float64)
			perRow += kg
		}
	}
	report, err := c.json(ctx, "GET", "/api/v1/reports/"+labID+"?year=2025", "", 200)
	if err != nil {
		return err
	}
	total, _ := report["total"].(map[string]any)
	got, _ := total["kgCo2e"].(float64)
	want := perRow * float64(rows)
	if perRow == 0 || math.Abs(got-want) > 1e-9*math.Max(1, want) {
		return fmt.Errorf("the report's total is %.9f kg CO2e, want %d rows × %.9f = %.9f", got, rows, perRow, want)
	}
	logf("import of %d rows SUCCESS; the report's total, %.3f kg CO2e, is exactly %d × one row's", rows, got, rows)
	return nil
}

func shell(ctx context.Context, command string, env ...string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	return nil
}
