package resterr

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
)

// Shape gives every error the gateway answers the API's error shape
// ({"code", "message", "details"}, the HTTP status kept): below it, the
// transcoder, the router and the standard library answer some refusals
// (an unsupported media type, an unknown path, a wrong method) in plain
// text.
func Shape(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shaper := &errorShaper{ResponseWriter: w}
		next.ServeHTTP(shaper, r)
		shaper.finish()
	})
}

// errorShaper holds back an error answer that is not JSON.
type errorShaper struct {
	http.ResponseWriter
	status    int
	capturing bool
	body      bytes.Buffer
}

// maxPlainError is how much of a plain-text error is kept as the message.
const maxPlainError = 1024

func (e *errorShaper) WriteHeader(status int) {
	if status >= 400 && !isJSON(e.Header().Get("Content-Type")) {
		e.capturing, e.status = true, status
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *errorShaper) Write(p []byte) (int, error) {
	if !e.capturing {
		return e.ResponseWriter.Write(p)
	}
	if room := maxPlainError - e.body.Len(); room > 0 {
		e.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (e *errorShaper) Flush() {
	if flusher, ok := e.ResponseWriter.(http.Flusher); ok && !e.capturing {
		flusher.Flush()
	}
}

func (e *errorShaper) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func (e *errorShaper) finish() {
	if !e.capturing {
		return
	}
	message := strings.TrimSpace(e.body.String())
	if message == "" {
		message = http.StatusText(e.status)
	}
	e.Header().Del("Content-Length")
	Write(e.ResponseWriter, e.status, message)
}

func isJSON(contentType string) bool {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}
