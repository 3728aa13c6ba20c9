package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// benchSystem is a running system for a benchmark.
type benchSystem struct {
	gateway   string
	token     string
	labID     string
	dbURL     string
	work      string
	processes map[string]*stack.Process
	addrs     map[string]string
	stop      func()
}

// startBench starts a fresh system (its own database, Dex, every service)
// and registers a lab; stop tears it all down.
func startBench(ctx context.Context, workers int, extraEnv ...string) (*benchSystem, error) {
	sys := &benchSystem{processes: map[string]*stack.Process{}, addrs: map[string]string{}}
	var cleanups []func()
	sys.stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if err := sys.start(ctx, workers, extraEnv, &cleanups); err != nil {
		sys.stop()
		return nil, err
	}
	return sys, nil
}

func (sys *benchSystem) start(ctx context.Context, workers int, extraEnv []string, cleanups *[]func()) error {
	root, err := stack.Root()
	if err != nil {
		return err
	}
	log := func(line string) { fmt.Fprintln(os.Stderr, "bench:", line) }
	server, err := stack.EnsurePostgres(ctx, root, log)
	if err != nil {
		return err
	}
	redisURL, err := stack.EnsureRedis(ctx, root, log)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "co2-bench-")
	if err != nil {
		return err
	}
	sys.work = work
	*cleanups = append(*cleanups, func() { os.RemoveAll(work) })

	suffix := randomSuffix()
	dbName := "co2bench_" + suffix
	dbURL, err := stack.EnsureDatabase(ctx, server, dbName)
	if err != nil {
		return err
	}
	sys.dbURL = dbURL
	*cleanups = append(*cleanups, func() { dropDatabase(context.WithoutCancel(ctx), server, dbName) })

	log("building the services")
	binDir := filepath.Join(work, "bin")
	if err := stack.Build(ctx, root, binDir, stack.Services); err != nil {
		return err
	}
	addrs := sys.addrs
	for _, service := range append(stack.Services, stack.Service{Name: "dex"}) {
		if addrs[service.Name], err = stack.FreeAddr(); err != nil {
			return err
		}
	}
	dex, err := stack.StartDex(ctx, root, filepath.Join(work, "dex"), addrs["dex"], io.Discard, log)
	if err != nil {
		return err
	}
	*cleanups = append(*cleanups, func() { _ = dex.Process.Stop(5 * time.Second) })
	env := append(append([]string{
		"DB_URL=" + dbURL, "REDIS_URL=" + redisURL, "IMPORT_QUEUE=bench-" + suffix, "LOG_LEVEL=" + envOr("BENCH_LOG_LEVEL", "warn"),
		fmt.Sprintf("WORKER_CONCURRENCY=%d", workers), "RATE_LIMIT_UPLOAD=0/1m", "RATE_LIMIT_WRITE=0/1m", "RATE_LIMIT_READ=0/1m",
		"DEBUG=" + fmt.Sprint(os.Getenv("BENCH_PROFILE") != ""),
	}, stack.UpstreamEnv(addrs)...), extraEnv...)
	if err := stack.Migrate(ctx, binDir, stack.Services, env, io.Discard); err != nil {
		return err
	}
	for _, service := range stack.Services {
		serviceEnv := append(append(stack.ServiceEnv(dex, service), env...), "LISTEN_ADDR="+addrs[service.Name])
		process, err := stack.Start(service.Name, filepath.Join(binDir, service.Name), nil, serviceEnv, os.Stderr)
		if err != nil {
			return err
		}
		*cleanups = append(*cleanups, func() { _ = process.Stop(20 * time.Second) })
		sys.processes[service.Name] = process
		if err := stack.WaitHTTP(ctx, "http://"+addrs[service.Name]+"/health", 30*time.Second, process); err != nil {
			return err
		}
	}
	sys.gateway = "http://" + addrs["gateway"]
	if err := stack.WaitHTTP(ctx, sys.gateway+"/ready", 30*time.Second, sys.processes["gateway"]); err != nil {
		return err
	}
	if sys.token, err = stack.Token(ctx, dex.IssuerURL, "admin@example.com", stack.DevPassword); err != nil {
		return err
	}
	var lab struct {
		ID string `json:"id"`
	}
	if err := api(ctx, http.MethodPost, sys.gateway+"/api/v1/labs", sys.token, "application/json",
		bytes.NewBufferString(`{"code":"BENCH","name":"Benchmark lab","country":"CH"}`), &lab); err != nil {
		return err
	}
	sys.labID = lab.ID
	return nil
}

func benchImport(ctx context.Context, rows, workers int, replace, recalc, scenario bool, out io.Writer) error {
	// The recalculation is timed from the activation: no debounce before it
	// starts.
	sys, err := startBench(ctx, workers, "RECALC_DELAY=1ms")
	if err != nil {
		return err
	}
	defer sys.stop()
	log := func(line string) { fmt.Fprintln(os.Stderr, "bench:", line) }
	work, processes, addrs, gateway, token, dbURL := sys.work, sys.processes, sys.addrs, sys.gateway, sys.token, sys.dbURL
	lab := struct{ ID string }{sys.labID}

	csvPath := filepath.Join(work, "equipment.csv")
	log(fmt.Sprintf("generating %d rows", rows))
	size, err := writeEquipmentCSV(csvPath, rows)
	if err != nil {
		return err
	}
	rssBefore := peakRSS(processes)

	// A CPU profile of one service while it imports.
	profileService(addrs, "", log)
	log("uploading through the gateway")
	uploadTime, endToEnd, status, err := importFile(ctx, gateway, token, lab.ID, csvPath, rows)
	if err != nil {
		return err
	}
	rssAfter := peakRSS(processes)

	log("timing a plain COPY of the same file")
	copyTime, err := rawCopy(ctx, dbURL, csvPath)
	if err != nil {
		return err
	}

	log("timing a COPY of the rows the import wrote into empty copies of their tables")
	floorTime, err := schemaFloor(ctx, dbURL, work)
	if err != nil {
		return err
	}

	rate := float64(rows) / endToEnd.Seconds()
	copyRate := float64(rows) / copyTime.Seconds()
	fmt.Fprintf(out, "machine          %d cores, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(out, "rows             %d (%.1f MB, kind equipment)\n", rows, float64(size)/1e6)
	fmt.Fprintf(out, "upload           %.2f s (the file stored, job queued)\n", uploadTime.Seconds())
	fmt.Fprintf(out, "end to end       %.2f s  %8.0f rows/s  (upload to FINISHED, %s)\n", endToEnd.Seconds(), rate, status.Result)
	fmt.Fprintf(out, "plain COPY       %.2f s  %8.0f rows/s  (the same CSV into a scratch table)\n", copyTime.Seconds(), copyRate)
	fmt.Fprintf(out, "ratio            %.2f × raw COPY (target ≥ 0.5), %.0f rows/s (target ≥ 500,000)\n", rate/copyRate, rate)
	fmt.Fprintf(out, "schema floor     %.2f s  %8.0f rows/s  (the activities and emissions written, COPYed into empty copies of their tables: %.2f × raw COPY at best)\n",
		floorTime.Seconds(), float64(rows)/floorTime.Seconds(), copyTime.Seconds()/floorTime.Seconds())
	names := make([]string, 0, len(processes))
	for name := range processes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(out, "peak RSS %-8s %6.1f MB (%6.1f MB before the upload)\n", name, float64(rssAfter[name])/1e6, float64(rssBefore[name])/1e6)
	}
	if replace {
		log("uploading the same file again: its rows replace the first import's")
		_, again, _, err := importFile(ctx, gateway, token, lab.ID, csvPath, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "replace          %.2f s  %8.0f rows/s  (the same file again: %d rows removed, %d written)\n",
			again.Seconds(), float64(rows)/again.Seconds(), rows, rows)
	}
	if scenario {
		log("making a scenario of the imported year: equipment hours -20 %")
		took, err := benchScenario(ctx, gateway, token, lab.ID, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "scenario         %.2f s  %8.0f rows/s  (the year copied and computed with a rule; %.2f × the import's end to end)\n",
			took.Seconds(), float64(rows)/took.Seconds(), took.Seconds()/endToEnd.Seconds())
	}
	if !recalc {
		return nil
	}
	log("activating a new Swiss grid factor for 2025")
	took, err := benchRecalc(ctx, gateway, token, lab.ID, func() { profileService(addrs, "-recalc", log) })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "recalculation    %.2f s  %8.0f rows/s  (activation to FINISHED; %.2f × the import's end to end, target ≤ 1.5)\n",
		took.Seconds(), float64(rows)/took.Seconds(), took.Seconds()/endToEnd.Seconds())
	fmt.Fprintf(out, "peak RSS calc    %6.1f MB (after the recalculation)\n", float64(peakRSS(processes)["calc"])/1e6)
	return nil
}

// importFile uploads an equipment CSV for the lab's 2025 (mode replace)
// through the gateway and waits for it to finish with every row imported.
func importFile(ctx context.Context, gateway, token, labID, csvPath string, rows int) (upload, endToEnd time.Duration, status importStatus, err error) {
	file, err := os.Open(csvPath)
	if err != nil {
		return 0, 0, status, err
	}
	defer file.Close()
	start := time.Now()
	var uploaded struct {
		Import struct {
			ID string `json:"id"`
		} `json:"import"`
	}
	err = api(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/labs/%s/imports?kind=equipment&year=2025&mode=replace", gateway, labID), token, "text/csv", file, &uploaded)
	if err != nil {
		return 0, 0, status, err
	}
	upload = time.Since(start)
	for {
		if err := api(ctx, http.MethodGet, gateway+"/api/v1/imports/"+uploaded.Import.ID+"/status", token, "", nil, &status); err != nil {
			return 0, 0, status, err
		}
		if status.State == "FINISHED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	endToEnd = time.Since(start)
	if status.Result != "SUCCESS" || status.RowsOk != fmt.Sprint(rows) {
		return 0, 0, status, fmt.Errorf("the import ended %s: %s (%s rows ok)", status.Result, status.StatusMessage, status.RowsOk)
	}
	return upload, endToEnd, status, nil
}

// benchScenario times the creation of a scenario of the lab's 2025: the
// copy of its rows, the rule applied to each and every row computed.
func benchScenario(ctx context.Context, gateway, token, labID string, rows int) (time.Duration, error) {
	body := `{"year":2025,"name":"bench","rules":[{"kind":"equipment","scale":{"active_hours_per_week":0.8}}]}`
	var created struct {
		ComputedRows string `json:"computedRows"`
	}
	start := time.Now()
	if err := api(ctx, http.MethodPost, gateway+"/api/v1/labs/"+labID+"/scenarios", token, "application/json", bytes.NewBufferString(body), &created); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if created.ComputedRows != fmt.Sprint(rows) {
		return 0, fmt.Errorf("the scenario computed %s rows, want %d", created.ComputedRows, rows)
	}
	return took, nil
}

// importStatus is what the benchmark reads of an import's status.
type importStatus struct {
	State, Result, StatusMessage string
	RowsOk                       string `json:"rowsOk"`
	RowsRejected                 string `json:"rowsRejected"`
}

// benchRecalc uploads and activates a dataset version with a new Swiss grid
// factor, and times the lab's recalculation from the activation on.
func benchRecalc(ctx context.Context, gateway, token, labID string, activated func()) (time.Duration, error) {
	csv := "dataset,version,kind,emission_type,classification,region,year,value,unit,source,licence,gwp_set,boundary,radiative_forcing,uncertainty_pct\n" +
		"bench,1,electricity,electricity_grid,location,CH,2025,0.12,kWh,benchmark figure,CC0-1.0,AR6,life_cycle,,10\n"
	if err := api(ctx, http.MethodPost, gateway+"/api/v1/factor-datasets?dataset=bench&version=1", token, "text/csv", bytes.NewBufferString(csv), &map[string]any{}); err != nil {
		return 0, err
	}
	for {
		var version struct{ State, Message string }
		if err := api(ctx, http.MethodGet, gateway+"/api/v1/factor-datasets/bench/versions/1", token, "", nil, &version); err != nil {
			return 0, err
		}
		if version.State == "FAILED" {
			return 0, fmt.Errorf("the factor dataset failed: %s", version.Message)
		}
		if version.State == "FINISHED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	if err := api(ctx, http.MethodPost, gateway+"/api/v1/factor-datasets/bench/versions/1:activate", token, "application/json", bytes.NewBufferString(`{"years":[2025]}`), &map[string]any{}); err != nil {
		return 0, err
	}
	activated()
	for {
		var answer struct {
			Recalculations []struct{ State, Message string } `json:"recalculations"`
		}
		if err := api(ctx, http.MethodGet, gateway+"/api/v1/labs/"+labID+"/recalculations?year=2025", token, "", nil, &answer); err != nil {
			return 0, err
		}
		if len(answer.Recalculations) > 0 {
			if r := answer.Recalculations[0]; r.State != "FINISHED" {
				return 0, fmt.Errorf("the recalculation ended %s: %s", r.State, r.Message)
			}
			return time.Since(start), nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func peakRSS(processes map[string]*stack.Process) map[string]int64 {
	peaks := map[string]int64{}
	for name, process := range processes {
		peaks[name], _ = process.PeakRSS()
	}
	return peaks
}

// rawCopy times COPY ... FROM STDIN (FORMAT csv) of the file into a scratch
// table with a text column per CSV column: the physical anchor.
func rawCopy(ctx context.Context, dbURL, path string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_scratch (equipment_name text, category text, quantity text,
		active_hours_per_week text, active_power_w text, standby_hours_per_week text, standby_power_w text)`); err != nil {
		return 0, err
	}
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	start := time.Now()
	if _, err := conn.PgConn().CopyFrom(ctx, file, "COPY bench_scratch FROM STDIN WITH (FORMAT csv, HEADER true)"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// schemaFloor times what PostgreSQL alone needs to take the rows an import
// wrote: calc's activities and emissions, dumped to files (untimed), then
// COPYed (binary) into empty copies of their tables with the same indexes.
// No parsing, computing or rollups: the import's floor with this schema.
func schemaFloor(ctx context.Context, dbURL, work string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var took time.Duration
	for _, table := range []string{"activities", "emissions"} {
		path := filepath.Join(work, table+".copy")
		dump, err := os.Create(path)
		if err != nil {
			return 0, err
		}
		_, err = conn.PgConn().CopyTo(ctx, dump, "COPY calc."+table+" TO STDOUT (FORMAT binary)")
		if closeErr := dump.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return 0, err
		}
		floor := "bench_floor_" + table
		if _, err := conn.Exec(ctx, "CREATE TABLE "+floor+" (LIKE calc."+table+" INCLUDING DEFAULTS INCLUDING INDEXES)"); err != nil {
			return 0, err
		}
		file, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		_, err = conn.PgConn().CopyFrom(ctx, file, "COPY "+floor+" FROM STDIN (FORMAT binary)")
		took += time.Since(start)
		file.Close()
		os.Remove(path)
		if err != nil {
			return 0, err
		}
		if _, err := conn.Exec(ctx, "DROP TABLE "+floor); err != nil {
			return 0, err
		}
	}
	return took, nil
}

func api(ctx context.Context, method, url, token, contentType string, body io.Reader, out any) error {
	request, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	request.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	if response.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, url, response.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

func dropDatabase(ctx context.Context, server, name string) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// profileService takes an 8-second CPU profile of the service BENCH_PROFILE
// names (DEBUG=true serves pprof), in the background, into <name><phase>.pprof.
func profileService(addrs map[string]string, phase string, log func(string)) {
	profile := os.Getenv("BENCH_PROFILE")
	if profile == "" {
		return
	}
	go func() {
		response, err := http.Get("http://" + addrs[profile] + "/debug/pprof/profile?seconds=8")
		if err != nil {
			return
		}
		defer response.Body.Close()
		saved, _ := os.Create(profile + phase + ".pprof")
		defer saved.Close()
		_, _ = io.Copy(saved, response.Body)
		log("profile written to " + profile + phase + ".pprof")
	}()
}
