package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect"
)

// TokenFunc returns the bearer token to send with an outgoing call.
type TokenFunc func(ctx context.Context) (string, error)

// Static sends the same token on every call (tests, the CLI).
func Static(token string) TokenFunc {
	return func(context.Context) (string, error) { return token, nil }
}

// Forwarded sends the token of the request being served: a service calling
// another on behalf of its caller, who is then authorized there as
// themselves.
func Forwarded(ctx context.Context) (string, error) {
	token, ok := ctx.Value(rawTokenKey{}).(string)
	if !ok || token == "" {
		return "", errors.New("no caller token to forward")
	}
	return token, nil
}

type rawTokenKey struct{}

func withRawToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, rawTokenKey{}, token)
}

// ClientInterceptor adds Authorization: Bearer <token> to every outgoing
// Connect call.
func ClientInterceptor(token TokenFunc) connect.Interceptor {
	return &clientInterceptor{token: token}
}

type clientInterceptor struct{ token TokenFunc }

func (c *clientInterceptor) set(ctx context.Context, header http.Header) error {
	token, err := c.token(ctx)
	if err != nil {
		return connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("token for an outgoing call: %w", err))
	}
	header.Set("Authorization", "Bearer "+token)
	return nil
}

func (c *clientInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			if err := c.set(ctx, req.Header()); err != nil {
				return nil, err
			}
		}
		return next(ctx, req)
	}
}

func (c *clientInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if err := c.set(ctx, conn.RequestHeader()); err != nil {
			return &failedConn{StreamingClientConn: conn, err: err}
		}
		return conn
	}
}

func (c *clientInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// failedConn fails a stream whose token could not be had.
type failedConn struct {
	connect.StreamingClientConn
	err error
}

func (f *failedConn) Send(any) error    { return f.err }
func (f *failedConn) Receive(any) error { return f.err }
