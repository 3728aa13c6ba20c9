package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// TraceHeader carries the request's trace id on every answer: the id to
// quote to support, which finds the request's spans and log lines.
const TraceHeader = "X-Trace-Id"

// accessEntry is what the layers below the access log add to its line.
type accessEntry struct{ subject string }

type accessKey struct{}

// noteSubject records the caller's subject on the request's access line.
func noteSubject(ctx context.Context, subject string) {
	if entry, ok := ctx.Value(accessKey{}).(*accessEntry); ok {
		entry.subject = subject
	}
}

// accessLog writes one line per request once it is answered: method,
// route template, status, duration, bytes, the caller's subject and (from
// the context, as every line) the trace id; and puts the trace id on the
// answer.
func accessLog(logger *slog.Logger, route func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Named before it is served: the transcoder rewrites the
		// request's URL (a shared pointer) to the Connect method's.
		method, name := r.Method, route(r)
		entry := &accessEntry{}
		ctx := context.WithValue(r.Context(), accessKey{}, entry)
		if span := trace.SpanContextFromContext(ctx); span.HasTraceID() {
			w.Header().Set(TraceHeader, span.TraceID().String())
		}
		recorder := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(recorder, r.WithContext(ctx))
		status := recorder.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelWarn
		}
		logger.LogAttrs(ctx, level, "request",
			slog.String("method", method), slog.String("route", name), slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.Int64("bytes", recorder.bytes),
			slog.String("subject", entry.subject))
	})
}

// statusRecorder notes the status and size of an answer; streams (Server-
// Sent Events) still flush through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Flush() {
	if flusher, ok := s.ResponseWriter.(http.Flusher); ok {
		flusher.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
