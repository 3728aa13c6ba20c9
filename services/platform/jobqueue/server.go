package jobqueue

import (
	"time"

	"github.com/hibiken/asynq"
)

// taskCheckInterval is how often an idle worker looks for a task (asynq's
// default, a second, would add up to that to every job's wait).
const taskCheckInterval = 100 * time.Millisecond

// NewServer returns the asynq server whose concurrency workers take tasks
// from queue; shutdownTimeout is how long a shutdown waits for the tasks
// under way (a job cut short is left to its lease).
func NewServer(opt asynq.RedisClientOpt, queue string, concurrency int, shutdownTimeout time.Duration) *asynq.Server {
	return asynq.NewServer(opt, asynq.Config{
		Concurrency:       concurrency,
		Queues:            map[string]int{queue: 1},
		LogLevel:          asynq.WarnLevel,
		TaskCheckInterval: taskCheckInterval,
		ShutdownTimeout:   shutdownTimeout,
	})
}
