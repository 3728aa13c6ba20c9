// Package templates asks the calc service, which owns the kinds of activity
// data, what a kind's CSV must hold; answers are kept for a while, since
// kinds change only with a deployment.
package templates

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/ingest/internal/ingestbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// Client implements ingestbus.Templates over calc's TemplateService.
type Client struct {
	calc calcv1connect.TemplateServiceClient
	ttl  time.Duration

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	template ingestbus.Template
	expires  time.Time
}

// New returns a client of calc at baseURL, calling as the request's caller.
func New(httpClient *http.Client, baseURL string, ttl time.Duration, options ...connect.ClientOption) *Client {
	options = append(options, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &Client{calc: calcv1connect.NewTemplateServiceClient(httpClient, baseURL, options...), ttl: ttl, cache: map[string]cached{}}
}

// Template returns what kind requires.
func (c *Client) Template(ctx context.Context, kind string) (ingestbus.Template, error) {
	c.mu.Lock()
	entry, found := c.cache[kind]
	c.mu.Unlock()
	if found && time.Now().Before(entry.expires) {
		return entry.template, nil
	}
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
	c.mu.Lock()
	c.cache[kind] = cached{template: template, expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
	return template, nil
}
