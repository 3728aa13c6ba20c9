// Package jobqueuetest gives a test a job queue of its own on the test
// Redis (REDIS_URL, as make test sets it), removed when the test ends.
package jobqueuetest

import (
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// Queue is a test's queue, an inspector of it, and the Redis options its
// workers connect with.
type Queue struct {
	*jobqueue.Queue
	Inspector *asynq.Inspector
	Redis     asynq.RedisClientOpt
}

// New returns a queue named prefix-<random>; its tasks and the queue go
// when the test ends.
func New(t testing.TB, prefix string) Queue {
	t.Helper()
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	opt, err := jobqueue.RedisOpt(config.SecretURL(redisURL))
	if err != nil {
		t.Fatal(err)
	}
	queue := jobqueue.New(opt, prefix+"-"+uuid.NewString())
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() {
		_ = inspector.DeleteQueue(queue.Name(), true)
		_ = inspector.Close()
		_ = queue.Close()
	})
	return Queue{Queue: queue, Inspector: inspector, Redis: opt}
}
