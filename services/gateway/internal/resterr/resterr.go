// Package resterr answers errors the way the REST surface does: the JSON
// shape {"code", "message", "details"} with the HTTP status of its Connect
// code, whoever refused the request (a service, the transcoder, the router
// or the gateway itself).
package resterr

import (
	"encoding/json"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/co2-calculator/co2-calculator/services/gateway/internal/reqbody"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// Write answers status with the API's error shape, the code being the
// one the status stands for.
func Write(w http.ResponseWriter, status int, message string) {
	WriteJSON(w, status, map[string]any{"code": int(CodeOf(status)), "message": message, "details": []any{}})
}

// WriteJSON answers code with body as JSON, never cached.
func WriteJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// WriteStatus answers a Connect error the way the REST surface does:
// google.rpc.Status JSON with the HTTP status of its code.
func WriteStatus(w http.ResponseWriter, err error) {
	code, body := StatusJSON(err)
	if code == connect.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", authn.Challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(Status(code))
	_, _ = w.Write(body)
}

// StatusJSON is a Connect error in the REST surface's error shape
// (google.rpc.Status as compact JSON), with its code.
func StatusJSON(err error) (connect.Code, []byte) {
	connectErr := new(connect.Error)
	if !errors.As(err, &connectErr) {
		connectErr = connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	status := &spb.Status{Code: int32(connectErr.Code()), Message: connectErr.Message()}
	for _, detail := range connectErr.Details() {
		status.Details = append(status.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + detail.Type(), Value: detail.Bytes()})
	}
	body, marshalErr := protojson.Marshal(status)
	if marshalErr != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	return connectErr.Code(), body
}

// codeStatuses pairs Connect codes with their HTTP statuses (the
// google.api.http transcoding rules); where a status stands for several
// codes, the first listed is the one it is read as.
var codeStatuses = []struct {
	code   connect.Code
	status int
}{
	{connect.CodeCanceled, 499},
	{connect.CodeInvalidArgument, http.StatusBadRequest},
	{connect.CodeFailedPrecondition, http.StatusBadRequest},
	{connect.CodeOutOfRange, http.StatusBadRequest},
	{connect.CodeDeadlineExceeded, http.StatusGatewayTimeout},
	{connect.CodeNotFound, http.StatusNotFound},
	{connect.CodeAlreadyExists, http.StatusConflict},
	{connect.CodeAborted, http.StatusConflict},
	{connect.CodePermissionDenied, http.StatusForbidden},
	{connect.CodeResourceExhausted, http.StatusTooManyRequests},
	{connect.CodeUnimplemented, http.StatusNotImplemented},
	{connect.CodeUnavailable, http.StatusServiceUnavailable},
	{connect.CodeUnauthenticated, http.StatusUnauthorized},
}

// Status is the HTTP status of a Connect code.
func Status(code connect.Code) int {
	for _, pair := range codeStatuses {
		if pair.code == code {
			return pair.status
		}
	}
	return http.StatusInternalServerError
}

// CodeOf is the Connect code an HTTP status stands for (Status read
// backwards), with the statuses the gateway or the standard library answer
// besides.
func CodeOf(status int) connect.Code {
	for _, pair := range codeStatuses {
		if pair.status == status {
			return pair.code
		}
	}
	switch {
	case status == http.StatusMethodNotAllowed:
		return connect.CodeUnimplemented
	case status == http.StatusBadGateway:
		return connect.CodeUnavailable
	case status >= 500:
		return connect.CodeInternal
	default: // 413, 415, 431...
		return connect.CodeInvalidArgument
	}
}

// TooLarge answers 413 saying how large a body may be.
func TooLarge(w http.ResponseWriter, limit int64) {
	Write(w, http.StatusRequestEntityTooLarge, reqbody.TooLargeMessage(limit))
}
