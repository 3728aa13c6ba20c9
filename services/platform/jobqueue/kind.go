// Package jobqueue is how services hand work to their workers through asynq
// (Redis): a Kind ties a task type to its payload type, Enqueue queues a
// task once per TaskID (one waiting or running is left alone, one archived
// or completed is replaced), tasks carry the trace they were queued in, and
// Handle registers a typed handler that decodes the payload, joins that
// trace, logs and records errors.
//
// PostgreSQL holds the truth of every job: a task only wakes a worker up.
// Retries are the job's business (attempts counted on its row, a service's
// safety net queueing lost work again), so tasks are queued without asynq
// retries and handlers never ask for one.
package jobqueue

import (
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Kind is a task type and the type T of its payload.
type Kind[T any] struct {
	name   string
	encode func(*T) ([]byte, error)
	decode func([]byte, *T) error
}

// NewKind names a task type whose payload T is encoded as JSON: for tasks
// a service queues for its own workers.
func NewKind[T any](name string) Kind[T] {
	return Kind[T]{
		name:   name,
		encode: func(payload *T) ([]byte, error) { return json.Marshal(payload) },
		decode: func(data []byte, payload *T) error { return json.Unmarshal(data, payload) },
	}
}

// ProtoKind is the task type whose payload is the protobuf message T,
// named by the message's full name and encoded as protobuf JSON (field
// names as in the .proto). For tasks one service queues and another
// consumes: the message in proto/ is the contract, so both ends agree on
// the type's name and payload by construction, and buf's breaking-change
// check guards it like any other API.
func ProtoKind[T any, PT interface {
	*T
	proto.Message
}]() Kind[T] {
	return Kind[T]{
		name: string(PT(new(T)).ProtoReflect().Descriptor().FullName()),
		encode: func(payload *T) ([]byte, error) {
			return protojson.MarshalOptions{UseProtoNames: true}.Marshal(PT(payload))
		},
		decode: func(data []byte, payload *T) error {
			return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, PT(payload))
		},
	}
}

// Name is the asynq task type.
func (k Kind[T]) Name() string { return k.name }
