package resterr

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/co2-calculator/co2-calculator/services/gateway/internal/reqbody"
)

// The transcoder reports a request it cannot decode (malformed JSON, an
// unknown query parameter, a value of the wrong type) as a 5xx error: code
// Internal before any service is called, or Unknown when the body fails to
// decode while it is streamed to the service. Those are the client's
// mistakes, so ClientErrors answers them as 400 InvalidArgument with the
// decoder's message. The services never answer Unknown (the platform's error
// edge turns unexpected errors into Internal), so their 5xx errors pass
// through unchanged.

type proxiedKey struct{}

// MarkProxied records that the request reached the proxy.
func MarkProxied(r *http.Request) {
	if proxied, ok := r.Context().Value(proxiedKey{}).(*atomic.Bool); ok {
		proxied.Store(true)
	}
}

// ClientErrors answers the transcoder's failures to decode a request as
// the client's mistakes (see above); a body cut at maxBodyBytes is 413.
func ClientErrors(maxBodyBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied := new(atomic.Bool)
		writer := &decodeErrorWriter{ResponseWriter: w, proxied: proxied}
		next.ServeHTTP(writer, r.WithContext(context.WithValue(r.Context(), proxiedKey{}, proxied)))
		if reqbody.TooLarge(r) && writer.rewriting {
			writer.rewriting = false
			TooLarge(w, maxBodyBytes)
			return
		}
		writer.finish()
	})
}

type decodeErrorWriter struct {
	http.ResponseWriter
	proxied   *atomic.Bool
	rewriting bool
	status    int
	body      bytes.Buffer
}

// WriteHeader holds back every 5xx answer until finish can read its code.
func (w *decodeErrorWriter) WriteHeader(status int) {
	if status >= 500 {
		w.rewriting, w.status = true, status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *decodeErrorWriter) Write(b []byte) (int, error) {
	if w.rewriting {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *decodeErrorWriter) Flush() {
	if flusher, ok := w.ResponseWriter.(http.Flusher); ok && !w.rewriting {
		flusher.Flush()
	}
}

func (w *decodeErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *decodeErrorWriter) finish() {
	if !w.rewriting {
		return
	}
	var decoded struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(w.body.Bytes(), &decoded)
	unknown := decoded.Code == float64(2) || decoded.Code == "unknown"
	if w.proxied.Load() && !unknown {
		w.ResponseWriter.WriteHeader(w.status)
		_, _ = w.ResponseWriter.Write(w.body.Bytes())
		return
	}
	message := decoded.Message
	if message == "" {
		message = "the request could not be read"
	}
	w.Header().Del("Content-Length")
	WriteJSON(w.ResponseWriter, http.StatusBadRequest, map[string]any{
		"code":    3, // google.rpc.Code INVALID_ARGUMENT, as the services' errors
		"message": "invalid request: " + message,
		"details": []any{},
	})
}
