package server

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
)

// Limits are the bounds every port of the system puts on a request, so a
// hostile or stalled client costs a bounded amount of memory and time.
type Limits struct {
	// MaxMessageBytes bounds one Connect, gRPC or gRPC-Web message after
	// decompression: a small compressed body cannot inflate past it.
	MaxMessageBytes int64 `env:"MAX_MESSAGE_BYTES, default=4194304"`
	// BodyIdleTimeout cuts off a request body that sends nothing for this
	// long, and a response the client stops reading for this long. A slow
	// upload that keeps sending is not affected.
	BodyIdleTimeout time.Duration `env:"BODY_IDLE_TIMEOUT, default=1m"`
	// BodyTimeout is the longest a request body may take to arrive in all
	// (uploads: 512 MiB at 75 KB/s, a slow link, fit in the default).
	BodyTimeout time.Duration `env:"BODY_TIMEOUT, default=2h"`
	// RequestTimeout is the deadline of a unary call whose client sent
	// none: the handler, its database work and its calls to other
	// services end by then.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT, default=1m"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration `env:"HTTP_IDLE_TIMEOUT, default=2m"`
	// PingTimeout: an HTTP/2 connection silent this long is pinged, and
	// closed when the ping is not answered within it (a peer that
	// vanished without closing).
	PingTimeout time.Duration `env:"HTTP2_PING_TIMEOUT, default=30s"`
}

// HTTP2 is the HTTP/2 configuration of servers and clients: dead peers are
// found by pings.
func (l Limits) HTTP2() *http.HTTP2Config {
	return &http.HTTP2Config{SendPingTimeout: l.PingTimeout, PingTimeout: l.PingTimeout}
}

// boundBodies puts the idle and total deadlines on every request body and
// the idle deadline on every response.
func boundBodies(limits Limits, next http.Handler) http.Handler {
	if limits.BodyIdleTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		controller := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			body := &deadlineBody{body: r.Body, controller: controller, idle: limits.BodyIdleTimeout}
			if limits.BodyTimeout > 0 {
				body.until = time.Now().Add(limits.BodyTimeout)
			}
			r.Body = body
		}
		// The connection outlives the request (keep-alive): a deadline
		// left behind would fail the next request's answer.
		defer controller.SetWriteDeadline(time.Time{}) //nolint:errcheck // the stream may be gone already
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, controller: controller, idle: limits.BodyIdleTimeout}, r)
	})
}

// A read or write moves its deadline again once an eighth of the idle
// timeout has passed since the last move: moving it on every frame would
// cost a message to the connection's goroutine each time under HTTP/2.
const rearmFraction = 8

// deadlineBody moves the read deadline forward as the body arrives.
type deadlineBody struct {
	body       io.ReadCloser
	controller *http.ResponseController
	idle       time.Duration
	until      time.Time // zero: no total bound
	armed      time.Time
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	now := time.Now()
	if now.Sub(b.armed) > b.idle/rearmFraction {
		deadline := now.Add(b.idle)
		if !b.until.IsZero() && b.until.Before(deadline) {
			deadline = b.until
		}
		// A writer that cannot take deadlines (a test recorder) leaves the
		// body unbounded in time, as it was.
		_ = b.controller.SetReadDeadline(deadline)
		b.armed = now
	}
	return b.body.Read(p)
}

func (b *deadlineBody) Close() error { return b.body.Close() }

// deadlineWriter moves the write deadline forward as the response goes out.
type deadlineWriter struct {
	http.ResponseWriter
	controller *http.ResponseController
	idle       time.Duration
	armed      atomic.Int64 // unix nanoseconds
}

func (w *deadlineWriter) arm() {
	now := time.Now()
	if now.UnixNano()-w.armed.Load() > int64(w.idle/rearmFraction) {
		_ = w.controller.SetWriteDeadline(now.Add(w.idle))
		w.armed.Store(now.UnixNano())
	}
}

func (w *deadlineWriter) WriteHeader(status int) {
	w.arm()
	w.ResponseWriter.WriteHeader(status)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.arm()
	if flusher, ok := w.ResponseWriter.(http.Flusher); ok {
		flusher.Flush()
	}
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// DefaultDeadline gives unary calls without a deadline one of timeout, on
// either side: a handler's database work and its calls to other services,
// or a call a process makes on its own (a worker's), cannot wait forever.
// Streams are bounded by their bodies' idle deadlines instead.
func DefaultDeadline(timeout time.Duration) connect.Interceptor { return defaultDeadline{timeout} }

type defaultDeadline struct{ timeout time.Duration }

func (d defaultDeadline) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if _, set := ctx.Deadline(); !set && d.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d.timeout)
			defer cancel()
		}
		return next(ctx, req)
	}
}

func (d defaultDeadline) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (d defaultDeadline) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
