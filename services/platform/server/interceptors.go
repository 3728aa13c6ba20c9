package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// errorInterceptor is the API edge: every error a handler returns becomes a
// Connect error here, once. Unexpected errors are logged with their cause and
// reach the client only as "internal error".
type errorInterceptor struct{ logger *slog.Logger }

func (i errorInterceptor) convert(ctx context.Context, procedure string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The request still had time: something it waited on did not (a
		// pool connection, another service). Worth a retry, so Unavailable.
		i.logger.WarnContext(ctx, "a wait inside the request timed out", "procedure", procedure, "error", err)
		return connect.NewError(connect.CodeUnavailable, errors.New("part of the system did not answer in time; try again shortly"))
	}
	converted, internal := apperr.ToConnect(err)
	if internal {
		i.logger.ErrorContext(ctx, "request failed", "procedure", procedure, "error", err)
	}
	return converted
}

func (i errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		return res, i.convert(ctx, req.Spec().Procedure, err)
	}
}

func (i errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return i.convert(ctx, conn.Spec().Procedure, next(ctx, conn))
	}
}

// recoverPanic turns a handler panic into an Internal error and logs it with
// its stack, so one bad request never takes the process down.
func recoverPanic(logger *slog.Logger) func(context.Context, connect.Spec, http.Header, any) error {
	return func(ctx context.Context, spec connect.Spec, _ http.Header, recovered any) error {
		logger.ErrorContext(ctx, "handler panicked", "procedure", spec.Procedure, "panic", fmt.Sprint(recovered), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, fmt.Errorf("internal error"))
	}
}
