// Package templates asks the calc service, which owns the kinds of activity
// data, what a kind's CSV must hold; answers are kept for a while, since
// kinds change only with a deployment.
package templates

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/cache"
)

// Client implements ingestbus.Templates over calc's TemplateService.
type Client struct {
	calc   calcv1connect.TemplateServiceClient
	cached *cache.Cache[string, ingestbus.Template]
}

// cacheSize bounds the kinds kept: there are a dozen, so a few times that
// is ample whatever callers send.
const cacheSize = 64

// maxKindLength: no kind is longer; a longer one is refused unasked.
const maxKindLength = 64

// New returns a client of calc at baseURL, calling as the request's caller.
func New(httpClient *http.Client, baseURL string, ttl time.Duration, options ...connect.ClientOption) *Client {
	options = append(options, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &Client{calc: calcv1connect.NewTemplateServiceClient(httpClient, baseURL, options...), cached: cache.New[string, ingestbus.Template](cacheSize, ttl)}
}

// Template returns what kind requires.
func (c *Client) Template(ctx context.Context, kind string) (ingestbus.Template, error) {
	kind = strings.ToLower(strings.TrimSpace(kind))
	if len(kind) > maxKindLength {
		return ingestbus.Template{}, fmt.Errorf("%w: a kind name is at most %d characters (GET /api/v1/templates lists them)", ingestbus.ErrUnknownKind, maxKindLength)
	}
	return c.cached.Get(ctx, kind, func(ctx context.Context) (ingestbus.Template, error) {
		res, err := c.calc.GetTemplate(ctx, connect.NewRequest(&calcv1.GetTemplateRequest{Kind: kind}))
		var connectErr *connect.Error
		if errors.As(err, &connectErr) && connectErr.Code() == connect.CodeNotFound {
			return ingestbus.Template{}, fmt.Errorf("%w: %s", ingestbus.ErrUnknownKind, connectErr.Message())
		}
		if err != nil {
			return ingestbus.Template{}, err
		}
		template := ingestbus.Template{Kind: res.Msg.GetTemplate().GetKind(), Module: res.Msg.GetTemplate().GetModule()}
		for _, column := range res.Msg.GetTemplate().GetColumns() {
			if column.GetRequired() {
				template.Required = append(template.Required, column.GetName())
			}
		}
		return template, nil
	})
}
