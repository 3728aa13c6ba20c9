package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
)

// Challenge is the WWW-Authenticate value of a refused request.
const Challenge = `Bearer realm="co2-calculator"`

// Interceptor verifies the bearer token of every Connect call except the
// procedures listed as public, and puts the principal into the context.
// A missing or invalid token is Unauthenticated (HTTP 401) with a
// WWW-Authenticate challenge.
func Interceptor(verifier *Verifier, logger *slog.Logger, public ...string) connect.Interceptor {
	return &interceptor{verifier: verifier, logger: logger, public: public}
}

type interceptor struct {
	verifier *Verifier
	logger   *slog.Logger
	public   []string
}

func (i *interceptor) authenticate(ctx context.Context, procedure string, header http.Header) (context.Context, error) {
	for _, public := range i.public {
		if procedure == public {
			return ctx, nil
		}
	}
	token := BearerToken(header.Get("Authorization"))
	if token == "" {
		return nil, unauthenticated(errors.New("missing bearer token: send Authorization: Bearer <access token>"))
	}
	principal, err := i.verifier.Verify(ctx, token)
	if err != nil {
		i.logger.DebugContext(ctx, "token refused", "procedure", procedure, "error", err)
		return nil, unauthenticated(err)
	}
	return withRawToken(WithPrincipal(ctx, principal), token), nil
}

func unauthenticated(err error) error {
	connectErr := connect.NewError(connect.CodeUnauthenticated, err)
	connectErr.Meta().Set("WWW-Authenticate", Challenge)
	return connectErr
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
