package jobqueue

import (
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

// RedisOpt turns REDIS_URL into asynq's connection options.
func RedisOpt(redisURL config.SecretURL) (asynq.RedisClientOpt, error) {
	options, err := redis.ParseURL(redisURL.Reveal())
	if err != nil {
		return asynq.RedisClientOpt{}, fmt.Errorf("REDIS_URL %s: %w", redisURL, err)
	}
	return asynq.RedisClientOpt{Addr: options.Addr, Username: options.Username, Password: options.Password, DB: options.DB, TLSConfig: options.TLSConfig}, nil
}
