// Package process is the common entry point of the service binaries.
package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// InstanceName names this process among the replicas of its service, in
// the leases its workers hold: the host, the pid and a number from the
// clock (in a container the pid is the same at every restart).
func InstanceName() string {
	hostname, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%d", hostname, os.Getpid(), time.Now().UnixNano()%100000)
}

// Main runs run with the command's arguments and a context that ends on
// SIGINT or SIGTERM (graceful shutdown), and exits 1 naming the service
// when it fails.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Every calls fn every interval until ctx ends (the first time after one
// interval, or at once when now is true). The safety nets that re-queue
// work Redis may have lost run on it.
func Every(ctx context.Context, interval time.Duration, now bool, fn func(ctx context.Context)) {
	if now {
		fn(ctx)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			fn(ctx)
		}
	}
}
