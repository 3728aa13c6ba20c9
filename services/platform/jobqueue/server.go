package jobqueue

import (
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// taskCheckInterval is how often an idle worker looks for a task (asynq's
// default, a second, would add up to that to every job's wait).
const taskCheckInterval = 100 * time.Millisecond

// delayedTaskCheckInterval is how often a delayed task (a recalculation
// after its debounce, a retry) is moved to the queue once due: asynq's
// default, five seconds, added up to that to every recalculation's start.
const delayedTaskCheckInterval = 500 * time.Millisecond

// NewServer returns the asynq server whose concurrency workers take tasks
// from queue; shutdownTimeout is how long a shutdown waits for the tasks
// under way (a job cut short is left to its lease). asynq's own messages go
// to logger.
func NewServer(opt asynq.RedisClientOpt, queue string, concurrency int, shutdownTimeout time.Duration, logger *slog.Logger) *asynq.Server {
	return asynq.NewServer(opt, asynq.Config{
		Concurrency:              concurrency,
		Queues:                   map[string]int{queue: 1},
		Logger:                   slogLogger{logger},
		LogLevel:                 asynq.WarnLevel,
		TaskCheckInterval:        taskCheckInterval,
		DelayedTaskCheckInterval: delayedTaskCheckInterval,
		ShutdownTimeout:          shutdownTimeout,
	})
}
