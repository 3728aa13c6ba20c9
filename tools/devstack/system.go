package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// Where the services listen under `make run`; the gateway's port can be
// changed with GATEWAY_ADDR.
var listenAddrs = map[string]string{
	"labs":      "127.0.0.1:8001",
	"ingest":    "127.0.0.1:8002",
	"calc":      "127.0.0.1:8003",
	"reporting": "127.0.0.1:8004",
	"gateway":   ":8000",
}

func runSystem(ctx context.Context, root string, stdout io.Writer, log func(string)) error {
	serverURL, err := stack.EnsurePostgres(ctx, root, log)
	if err != nil {
		return err
	}
	dbURL, err := appDatabase(ctx, serverURL)
	if err != nil {
		return err
	}
	redisURL, err := stack.EnsureRedis(ctx, root, log)
	if err != nil {
		return err
	}
	if addr := os.Getenv("GATEWAY_ADDR"); addr != "" {
		listenAddrs["gateway"] = addr
	}

	dexAddr := "127.0.0.1:5556"
	if addr := os.Getenv("DEX_ADDR"); addr != "" {
		dexAddr = addr
	}
	dex, err := stack.StartDex(ctx, root, filepath.Join(stack.StateDir(root), "dex"), dexAddr, stdout, log)
	if err != nil {
		return err
	}
	defer dex.Process.Stop(5 * time.Second) //nolint:errcheck // stopping at exit

	// TRACES=1: a trace viewer the services send their spans to.
	var traces *stack.Traces
	if os.Getenv("TRACES") == "1" {
		if traces, err = stack.StartTraces(ctx, root, stdout, log); err != nil {
			return err
		}
		defer traces.Process.Stop(5 * time.Second) //nolint:errcheck // stopping at exit
	}

	binDir := filepath.Join(stack.StateDir(root), "bin")
	log("building the services")
	if err := stack.Build(ctx, root, binDir, stack.Services); err != nil {
		return err
	}
	env := append([]string{"DB_URL=" + dbURL, "REDIS_URL=" + redisURL}, stack.UpstreamEnv(listenAddrs)...)
	if traces != nil {
		env = append(env, traces.Env()...)
	}
	if err := stack.Migrate(ctx, binDir, stack.Services, env, stdout); err != nil {
		return err
	}

	var processes []*stack.Process
	stopAll := func() {
		for i := len(processes) - 1; i >= 0; i-- {
			if err := processes[i].Stop(20 * time.Second); err != nil {
				log(fmt.Sprintf("%s: %v", processes[i].Name, err))
			}
		}
	}
	defer stopAll()
	for _, service := range stack.Services {
		addr := listenAddrs[service.Name]
		serviceEnv := append(append(append([]string{}, env...), stack.ServiceEnv(dex, service)...), "LISTEN_ADDR="+addr)
		process, err := stack.Start(service.Name, filepath.Join(binDir, service.Name), nil, serviceEnv, stdout)
		if err != nil {
			return err
		}
		processes = append(processes, process)
		if err := stack.WaitHTTP(ctx, "http://"+loopback(addr)+"/health", 30*time.Second, process); err != nil {
			return err
		}
	}
	gateway := "http://" + loopback(listenAddrs["gateway"])
	if err := stack.WaitHTTP(ctx, gateway+"/ready", 30*time.Second, processes[len(processes)-1]); err != nil {
		return err
	}
	if err := seedDemoLab(ctx, gateway, dex.IssuerURL); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
co2-calculator is running.

  API            %[1]s/api/v1
  API reference  %[1]s/docs
  OpenAPI        %[1]s/openapi.json
  health, ready  %[1]s/health, %[1]s/ready
  OIDC issuer    %[2]s (Dex)

Every /api/v1 call needs a token. Dev users, password %[3]q: admin, auditor,
manager (lab_manager of DEMO-LAB), member (lab_member of DEMO-LAB), outsider.

Try, in another terminal:
  TOKEN=$(make -s token user=admin)
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/v1/labs
  curl -s -H "Authorization: Bearer $TOKEN" -X POST %[1]s/api/v1/labs -d '{"code":"ENAC-LAB1","name":"Lab 1","country":"CH"}'
  curl -s -H "Authorization: Bearer $(make -s token user=member)" %[1]s/api/v1/me
or with the command-line client (docs/cli.md):
  make co2 && .bin/co2 login     # then: .bin/co2 labs list, .bin/co2 report DEMO-LAB

%[4]s
Ctrl-C stops everything.
`, gateway, dex.IssuerURL, stack.DevPassword, tracesLine(traces))

	select {
	case <-ctx.Done():
		log("stopping")
		return nil
	case <-firstExit(processes):
		for _, process := range processes {
			select {
			case <-process.Done():
				return fmt.Errorf("%s stopped: %w", process.Name, process.Err())
			default:
			}
		}
		return errors.New("a service stopped")
	}
}

// tracesLine says where the traces are, or how to see them.
func tracesLine(traces *stack.Traces) string {
	if traces == nil {
		return "Traces: make run TRACES=1 also starts a trace viewer (Jaeger, built once) and sends it every span.\n"
	}
	return "Traces (every request, upload and job, by service and route): " + traces.UIURL + "\n"
}

// appDatabase is the database the system keeps its data in: DB_URL itself
// when set, else the database co2 on the server found (created if missing),
// so a shared server's other databases are left alone.
func appDatabase(ctx context.Context, serverURL string) (string, error) {
	if os.Getenv("DB_URL") != "" {
		return serverURL, nil
	}
	return stack.EnsureDatabase(ctx, serverURL, "co2")
}

// seedDemoLab registers the demo lab, with the dev manager and member on
// it, unless it exists already.
func seedDemoLab(ctx context.Context, gateway, issuerURL string) error {
	token, err := stack.Token(ctx, issuerURL, "admin@example.com", stack.DevPassword)
	if err != nil {
		return err
	}
	var lab struct {
		ID string `json:"id"`
	}
	status, err := postJSON(ctx, gateway+"/api/v1/labs", token,
		`{"code":"DEMO-LAB","name":"Demo lab","description":"Created by make run","country":"CH"}`, &lab)
	if err != nil {
		return err
	}
	if status == http.StatusConflict {
		// Seeded by an earlier run on this database: find it, and make sure
		// the dev users still hold their roles.
		if lab.ID, err = findDemoLab(ctx, gateway, token); err != nil {
			return err
		}
	}
	for _, member := range []string{
		`{"email":"manager@example.com","role":"lab_manager"}`,
		`{"email":"member@example.com","role":"lab_member"}`,
	} {
		if _, err := postJSON(ctx, gateway+"/api/v1/labs/"+lab.ID+"/members", token, member, nil); err != nil {
			return err
		}
	}
	return nil
}

func findDemoLab(ctx context.Context, gateway, token string) (string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, gateway+"/api/v1/labs?include_archived=true&name_contains=Demo%20lab&page_size=500", nil)
	if err != nil {
		return "", err
	}
	request.Header.Set("Authorization", "Bearer "+token)
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	var page struct {
		Labs []struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		} `json:"labs"`
	}
	if err := json.NewDecoder(response.Body).Decode(&page); err != nil {
		return "", fmt.Errorf("find the demo lab: %w", err)
	}
	for _, lab := range page.Labs {
		if strings.EqualFold(lab.Code, "DEMO-LAB") {
			return lab.ID, nil
		}
	}
	return "", errors.New("the demo lab's code is taken by a lab named otherwise: rename it or use another database")
}

// postJSON posts body with token and decodes a 200 answer into out; a 409
// is returned as a status, anything else as an error.
func postJSON(ctx context.Context, url, token, body string, out any) (int, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, err
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Authorization", "Bearer "+token)
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(response.Body)
	switch {
	case response.StatusCode == http.StatusConflict:
		return response.StatusCode, nil
	case response.StatusCode != http.StatusOK:
		return response.StatusCode, fmt.Errorf("seed %s: %s: %s", url, response.Status, answer)
	case out != nil:
		return response.StatusCode, json.Unmarshal(answer, out)
	}
	return response.StatusCode, nil
}

func firstExit(processes []*stack.Process) <-chan struct{} {
	exited := make(chan struct{})
	for _, process := range processes {
		go func() {
			<-process.Done()
			select {
			case <-exited:
			default:
				close(exited)
			}
		}()
	}
	return exited
}

func loopback(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}
