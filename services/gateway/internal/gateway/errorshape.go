package gateway

import (
	"bytes"
	"mime"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// writeError answers status with the API's error shape, the code being the
// one the status stands for.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"code": int(codeOf(status)), "message": message, "details": []any{}})
}

// jsonErrors gives every error the gateway answers the API's error shape
// ({"code", "message", "details"}, the HTTP status kept): below it, the
// transcoder, the router and the standard library answer some refusals
// (an unsupported media type, an unknown path, a wrong method) in plain
// text.
func jsonErrors(next http.Handler) http.Handler {
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
	writeError(e.ResponseWriter, e.status, message)
}

func isJSON(contentType string) bool {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// codeOf is the google.rpc.Code an HTTP status stands for (the inverse of
// httpStatus, for the statuses the gateway answers itself).
func codeOf(status int) connect.Code {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return connect.CodeInvalidArgument
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound:
		return connect.CodeNotFound
	case http.StatusConflict:
		return connect.CodeAlreadyExists
	case http.StatusTooManyRequests:
		return connect.CodeResourceExhausted
	case 499:
		return connect.CodeCanceled
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return connect.CodeUnimplemented
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return connect.CodeUnavailable
	case http.StatusGatewayTimeout:
		return connect.CodeDeadlineExceeded
	default:
		if status >= 500 {
			return connect.CodeInternal
		}
		return connect.CodeInvalidArgument
	}
}
