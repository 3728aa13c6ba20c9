// Command bench measures co2-calculator on this machine, side by side with
// a physical anchor, and prints the figures docs/benchmarks.md records.
//
//	bench import -rows 1000000
//	bench entries -clients 32 -requests 20000
//	bench entries -rate 300 -duration 30s -labs 50
//	bench report -small 10000 -large 1000000 -requests 1000
//	bench gateway -connections 64 -requests 5000 -rounds 2
//
// import generates an equipment CSV, uploads it through the gateway of a
// freshly started system, waits for the job to finish and reports rows/s end
// to end and every process's peak RSS; in the same run it times a plain
// COPY of the same file into a scratch table and prints the ratio; with
// -scenario, it then times a what-if scenario of the imported year.
//
// report fills a lab with 10k emissions and another with 1M through the
// import pipeline and prints the latency of their reports side by side.
//
// entries offers single entries through the gateway at a constant rate
// (open loop, 300/s by default), measures each from its due time and prints
// the latency percentiles, then offers more than the system answers and
// prints what it answered; with -rate 0, concurrent clients post them
// instead (closed loop).
//
// gateway asks the same requests of the gateway (REST) and of the service
// directly (Connect), alternating, and prints the gateway's latency and
// throughput ratios.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "entries" {
		flags := flag.NewFlagSet("entries", flag.ContinueOnError)
		clients := flags.Int("clients", 32, "closed loop (-rate 0): concurrent clients")
		requests := flags.Int("requests", 20000, "closed loop (-rate 0): entries to post")
		rate := flags.Float64("rate", 300, "open loop: entries offered per second, at a constant rate (0: closed loop instead)")
		saturation := flags.Float64("saturation", 4000, "open loop: then offer this rate for 10 s and report what is answered (0: not)")
		duration := flags.Duration("duration", 30*time.Second, "open loop: for how long")
		labs := flags.Int("labs", 50, "open loop: labs the entries are spread over")
		inFlight := flags.Int("in-flight", 1000, "open loop: requests waiting at most at once")
		if err := flags.Parse(args[1:]); err != nil {
			return err
		}
		if *rate > 0 {
			return benchEntriesOpenLoop(ctx, *rate, *duration, *labs, *inFlight, *saturation, out)
		}
		return benchEntries(ctx, *clients, *requests, out)
	}
	if len(args) > 0 && args[0] == "gateway" {
		flags := flag.NewFlagSet("gateway", flag.ContinueOnError)
		connections := flags.Int("connections", 64, "concurrent callers, each on its own connection")
		requests := flags.Int("requests", 5000, "requests a run")
		rounds := flags.Int("rounds", 2, "runs of each side, alternating")
		if err := flags.Parse(args[1:]); err != nil {
			return err
		}
		return benchGateway(ctx, *connections, *requests, *rounds, out)
	}
	if len(args) > 0 && args[0] == "report" {
		flags := flag.NewFlagSet("report", flag.ContinueOnError)
		small := flags.Int("small", 10_000, "emissions of the small lab")
		large := flags.Int("large", 1_000_000, "emissions of the large lab")
		larger := flags.Int("larger", 0, "emissions of a third, larger lab (0: none; 10000000 for the 10M figure)")
		requests := flags.Int("requests", 1000, "reports asked per lab")
		if err := flags.Parse(args[1:]); err != nil {
			return err
		}
		sizes := []int{*small, *large}
		if *larger > 0 {
			sizes = append(sizes, *larger)
		}
		return benchReport(ctx, sizes, *requests, out)
	}
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("usage: bench import [-rows N] [-workers N] [-replace] [-recalc] [-scenario] | bench entries [-rate R -duration D -labs N -saturation R] [-rate 0 -clients N -requests N] | bench report [-small N] [-large N] [-larger N] [-requests N] | bench gateway [-connections N] [-requests N] [-rounds N]")
	}
	flags := flag.NewFlagSet("import", flag.ContinueOnError)
	rows := flags.Int("rows", 1_000_000, "rows in the generated CSV")
	workers := flags.Int("workers", 2, "calc worker concurrency")
	replace := flags.Bool("replace", false, "then upload the same file again (mode replace) and time it")
	recalc := flags.Bool("recalc", false, "then activate a new Swiss grid factor and time the recalculation of the rows")
	scenario := flags.Bool("scenario", false, "then make a scenario of the imported year (a rule over every row) and time it")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	return benchImport(ctx, *rows, *workers, *replace, *recalc, *scenario, out)
}

// writeEquipmentCSV writes n equipment rows to path and returns its size.
func writeEquipmentCSV(path string, n int) (int64, error) {
	file, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	w := bufio.NewWriterSize(file, 1<<20)
	fmt.Fprint(w, "equipment_name,category,quantity,active_hours_per_week,active_power_w,standby_hours_per_week,standby_power_w\n")
	categories := []string{"scientific", "it", "other"}
	for i := range n {
		fmt.Fprintf(w, "Device %d,%s,%d,%d,%d,%d,%d\n", i, categories[i%3], 1+i%4, 10+i%50, 20+i%500, 20+i%60, 1+i%10)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	info, err := file.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
