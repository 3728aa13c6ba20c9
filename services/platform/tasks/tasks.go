// Package tasks names the asynq tasks services hand each other through
// Redis, with their payloads, and carries the trace context in task headers
// so one trace runs from the REST call to the worker.
package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// TypeImportProcess asks a calc worker to process an import job.
const TypeImportProcess = "import:process"

// QueueConfig names the asynq queue import tasks wait in; ingest and calc
// must agree on it. Separate installations sharing one Redis use separate
// names.
type QueueConfig struct {
	Name string `env:"IMPORT_QUEUE, default=imports"`
}

// ImportProcess is the payload of TypeImportProcess.
type ImportProcess struct {
	JobID string `json:"job_id"`
}

// NewImportProcess builds the task for an attempt at a job. Its TaskID is
// the job id (with the attempt number after the first), so one attempt is
// never queued twice at once, while a new attempt is not blocked by the
// task of a worker that died holding the previous one.
func NewImportProcess(ctx context.Context, queue, jobID string, attempt int32) (*asynq.Task, error) {
	payload, err := json.Marshal(ImportProcess{JobID: jobID})
	if err != nil {
		return nil, err
	}
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	return asynq.NewTaskWithHeaders(TypeImportProcess, payload, headers, asynq.TaskID(ImportTaskID(jobID, attempt)), asynq.Queue(queue), asynq.MaxRetry(0)), nil
}

// ImportTaskID is the TaskID of an attempt at a job.
func ImportTaskID(jobID string, attempt int32) string {
	if attempt == 0 {
		return jobID
	}
	return fmt.Sprintf("%s#%d", jobID, attempt)
}

// ContextOf returns ctx joined to the trace the task was enqueued in.
func ContextOf(ctx context.Context, task *asynq.Task) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(task.Headers()))
}

// RedisOpt turns REDIS_URL into asynq's connection options.
func RedisOpt(redisURL config.SecretURL) (asynq.RedisClientOpt, error) {
	options, err := redis.ParseURL(redisURL.Reveal())
	if err != nil {
		return asynq.RedisClientOpt{}, fmt.Errorf("REDIS_URL %s: %w", redisURL, err)
	}
	return asynq.RedisClientOpt{Addr: options.Addr, Username: options.Username, Password: options.Password, DB: options.DB, TLSConfig: options.TLSConfig}, nil
}

// TypeFactorsSync asks a calc worker to load an uploaded factor dataset
// version into the factor table.
const TypeFactorsSync = "factors:sync"

// FactorsSync is the payload of TypeFactorsSync.
type FactorsSync struct {
	VersionID string `json:"version_id"`
}

// NewFactorsSync builds the task of a factor dataset version's sync job; its
// TaskID is the version's id, so the job is never queued twice at once.
func NewFactorsSync(ctx context.Context, queue, versionID string) (*asynq.Task, error) {
	payload, err := json.Marshal(FactorsSync{VersionID: versionID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTaskWithHeaders(TypeFactorsSync, payload, headersOf(ctx), asynq.TaskID(versionID), asynq.Queue(queue), asynq.MaxRetry(0)), nil
}

// TypeEmissionsRecalculate asks a calc worker to recompute one lab/year/
// kind's emissions with the factors now active for that year.
const TypeEmissionsRecalculate = "emissions:recalculate"

// EmissionsRecalculate is the payload of TypeEmissionsRecalculate.
type EmissionsRecalculate struct {
	LabID string `json:"lab_id"`
	Year  int32  `json:"year"`
	Kind  string `json:"kind"`
}

// RecalcTaskID is the TaskID of a target's recalculation: one waits per
// target however many changes ask for it. followUp names the one task
// queued behind a running one.
func RecalcTaskID(labID string, year int32, kind string, followUp bool) string {
	id := fmt.Sprintf("recalc:%s:%d:%s", labID, year, kind)
	if followUp {
		id += ":next"
	}
	return id
}

// NewEmissionsRecalculate builds a target's recalculation task, to run after
// delay (a burst of factor changes within it makes one task).
func NewEmissionsRecalculate(ctx context.Context, queue string, target EmissionsRecalculate, followUp bool, delay time.Duration) (*asynq.Task, error) {
	payload, err := json.Marshal(target)
	if err != nil {
		return nil, err
	}
	return asynq.NewTaskWithHeaders(TypeEmissionsRecalculate, payload, headersOf(ctx),
		asynq.TaskID(RecalcTaskID(target.LabID, target.Year, target.Kind, followUp)), asynq.Queue(queue), asynq.MaxRetry(0),
		asynq.ProcessIn(delay)), nil
}

func headersOf(ctx context.Context) map[string]string {
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	return headers
}
