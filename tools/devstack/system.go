package main

import (
	"bytes"
	"context"
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
	"labs":    "127.0.0.1:8001",
	"gateway": ":8000",
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

	binDir := filepath.Join(stack.StateDir(root), "bin")
	log("building the services")
	if err := stack.Build(ctx, root, binDir, stack.Services); err != nil {
		return err
	}
	env := []string{"DB_URL=" + dbURL, "REDIS_URL=" + redisURL, "LABS_URL=http://" + listenAddrs["labs"]}
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
		process, err := stack.Start(service.Name, filepath.Join(binDir, service.Name), nil, append(env, "LISTEN_ADDR="+addr), stdout)
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
	if err := seedDemoLab(ctx, gateway); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
co2-calculator is running.

  API            %[1]s/api/v1
  API reference  %[1]s/docs
  OpenAPI        %[1]s/openapi.json
  health, ready  %[1]s/health, %[1]s/ready

Try:
  curl -s %[1]s/api/v1/labs
  curl -s -X POST %[1]s/api/v1/labs -d '{"code":"ENAC-LAB1","name":"Lab 1","country":"CH"}'

Ctrl-C stops everything.
`, gateway)

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

// appDatabase is the database the system keeps its data in: DB_URL itself
// when set, else the database co2 on the server found (created if missing),
// so a shared server's other databases are left alone.
func appDatabase(ctx context.Context, serverURL string) (string, error) {
	if os.Getenv("DB_URL") != "" {
		return serverURL, nil
	}
	return stack.EnsureDatabase(ctx, serverURL, "co2")
}

// seedDemoLab registers the demo lab unless it exists already.
func seedDemoLab(ctx context.Context, gateway string) error {
	body := `{"code":"DEMO-LAB","name":"Demo lab","description":"Created by make run","country":"CH"}`
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, gateway+"/api/v1/labs", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return fmt.Errorf("seed the demo lab: %w", err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK && response.StatusCode != http.StatusConflict {
		answer, _ := io.ReadAll(response.Body)
		return fmt.Errorf("seed the demo lab: %s: %s", response.Status, answer)
	}
	return nil
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
