// Package chunkstream reads a file carried by a Connect stream as an
// io.Reader: an upload (its metadata first, then the file's chunks) or a
// download (the file's chunks), one message at a time, so no process holds
// the file.
package chunkstream

import (
	"io"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Stream is what Connect's streams share for receiving (a handler's
// ClientStream, a client's ServerStreamForClient).
type Stream[T any] interface {
	Receive() bool
	Msg() *T
	Err() error
}

// Upload splits an upload into its metadata, which the first message must
// carry, and a reader of the file in the messages after it. A stream that
// is empty, starts without metadata, or repeats them is the client's
// mistake (InvalidArgument).
func Upload[T, M any](stream Stream[T], metadata func(*T) *M, chunk func(*T) []byte) (*M, io.Reader, error) {
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, apperr.Invalid("metadata", "the stream is empty: send the metadata first, then the file")
	}
	meta := metadata(stream.Msg())
	if meta == nil {
		return nil, nil, apperr.Invalid("metadata", "the first message must carry the metadata")
	}
	return meta, &Reader[T]{stream: stream, chunk: func(msg *T) ([]byte, error) {
		if metadata(msg) != nil {
			return nil, apperr.Invalid("metadata", "metadata may only come first")
		}
		return chunk(msg), nil
	}}, nil
}

// Download reads the file in every message of stream.
func Download[T any](stream Stream[T], chunk func(*T) []byte) *Reader[T] {
	return &Reader[T]{stream: stream, chunk: func(msg *T) ([]byte, error) { return chunk(msg), nil }}
}

// Reader reads the chunks of a stream's messages; it ends with io.EOF when
// the stream ends, or with the stream's error.
type Reader[T any] struct {
	stream  Stream[T]
	chunk   func(*T) ([]byte, error)
	pending []byte
}

func (r *Reader[T]) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if !r.stream.Receive() {
			if err := r.stream.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		chunk, err := r.chunk(r.stream.Msg())
		if err != nil {
			return 0, err
		}
		r.pending = chunk
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}
