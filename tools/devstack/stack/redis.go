package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() {
	// A refused ping is an expected answer here, not something to log.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// LocalRedisPort is where the project-local Redis listens.
const LocalRedisPort = 56379

// DefaultRedisURL is the server tried when REDIS_URL is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// EnsureRedis returns the URL of a Redis server that answers: REDIS_URL if
// set, else one on 127.0.0.1:6379, else a project-local server started from
// the machine's redis-server (installed with apt-get when missing and
// running as root). The local server keeps nothing on disk.
func EnsureRedis(ctx context.Context, root string, log func(string)) (string, error) {
	if configured := os.Getenv("REDIS_URL"); configured != "" {
		if err := pingRedis(ctx, configured); err != nil {
			return "", fmt.Errorf("REDIS_URL is set but Redis there does not answer: %w", err)
		}
		return configured, nil
	}
	if pingRedis(ctx, DefaultRedisURL) == nil {
		return DefaultRedisURL, nil
	}
	local := fmt.Sprintf("redis://127.0.0.1:%d/0", LocalRedisPort)
	if pingRedis(ctx, local) == nil {
		return local, nil
	}
	logf(log, "no Redis on 127.0.0.1:6379: starting a project-local one on port %d", LocalRedisPort)
	server, err := exec.LookPath("redis-server")
	if err != nil {
		if err := aptInstall(ctx, log, "redis-server"); err != nil {
			return "", fmt.Errorf("redis is needed and not installed: %w", err)
		}
		if server, err = exec.LookPath("redis-server"); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(StateDir(root), "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	start := exec.CommandContext(ctx, server,
		"--daemonize", "yes", "--bind", "127.0.0.1", "--port", fmt.Sprint(LocalRedisPort),
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--pidfile", filepath.Join(dir, "redis.pid"), "--logfile", filepath.Join(dir, "redis.log"))
	if out, err := start.CombinedOutput(); err != nil {
		return "", fmt.Errorf("start redis-server: %w\n%s", err, out)
	}
	return local, waitFor(ctx, 10*time.Second, func() error { return pingRedis(ctx, local) })
}

// StopLocalRedis stops the project-local Redis if it runs.
func StopLocalRedis(ctx context.Context) error {
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", LocalRedisPort)})
	defer client.Close()
	if client.Ping(ctx).Err() != nil {
		return nil
	}
	_ = client.Shutdown(ctx).Err() // the connection closes as the server stops
	return nil
}

func pingRedis(ctx context.Context, redisURL string) error {
	options, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL %q: %w", redisURL, err)
	}
	options.DialTimeout = 2 * time.Second
	options.MaxRetries = -1 // one answer is enough; retries only add log lines
	client := redis.NewClient(options)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return client.Ping(ctx).Err()
}

// StartRedisServer runs a Redis of a caller's own on 127.0.0.1:port as a
// child process that keeps nothing on disk: a test kills it and starts
// another to see a Redis restarted without its data.
func StartRedisServer(ctx context.Context, dir string, port int, out io.Writer) (*Process, error) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	process, err := Start("redis", server, []string{"--bind", "127.0.0.1", "--port", fmt.Sprint(port),
		"--save", "", "--appendonly", "no", "--dir", dir}, nil, out)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	if err := waitFor(ctx, 10*time.Second, func() error { return pingRedis(ctx, url) }); err != nil {
		process.Kill()
		return nil, err
	}
	return process, nil
}
