package jobqueue

import (
	"fmt"
	"log/slog"
	"os"
)

// slogLogger writes asynq's own messages as the service's JSON log lines.
type slogLogger struct{ logger *slog.Logger }

func (l slogLogger) Debug(args ...any) { l.logger.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l slogLogger) Info(args ...any)  { l.logger.Info(fmt.Sprint(args...), "component", "asynq") }
func (l slogLogger) Warn(args ...any)  { l.logger.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l slogLogger) Error(args ...any) { l.logger.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal is asynq's way of giving up (it expects the process to end).
func (l slogLogger) Fatal(args ...any) {
	l.logger.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
	os.Exit(1)
}
