// Package api is the co2-calculator REST API as the command-line client
// uses it: plain net/http against the gateway's /api/v1, errors turned into
// sentences that say what to do.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxJSONBytes bounds every JSON answer read whole (reports and lists are
// far smaller; files are streamed, never read whole).
const maxJSONBytes = 32 << 20

// TokenSource gives the bearer token of each request.
type TokenSource func(ctx context.Context) (string, error)

// Client calls the gateway.
type Client struct {
	Gateway string // for example http://localhost:8000
	Token   TokenSource
	HTTP    *http.Client
}

// NewClient is a client of the gateway at gateway. Requests have no
// overall timeout (uploads and downloads take as long as they take); the
// dialer and the wait for response headers are bounded.
func NewClient(gateway string, token TokenSource) *Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = 2 * time.Minute
	return &Client{Gateway: strings.TrimRight(gateway, "/"), Token: token, HTTP: &http.Client{Transport: transport}}
}

// Error is an answer of the API that is not a success.
type Error struct {
	Status  int
	Message string
	// Hint says what to do about it.
	Hint string
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		text = http.StatusText(e.Status)
	}
	if e.Hint != "" {
		return text + ": " + e.Hint
	}
	return text
}

// IsStatus tells whether err is an API answer with that status.
func IsStatus(err error, status int) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// request is one call: what it is about names the thing in a 404.
type request struct {
	method      string
	path        string
	query       url.Values
	body        io.Reader
	contentType string
	length      int64
	accept      string
	// notFound is the sentence of a 404, for example "no lab X you can see".
	notFound string
}

// do sends the request and returns the response when it is a 2xx; any other
// answer becomes an *Error.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	target := c.Gateway + "/api/v1" + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, r.body)
	if err != nil {
		return nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", r.contentType)
		if r.length > 0 {
			req.ContentLength = r.length
		}
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if c.Token != nil {
		token, err := c.Token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	response, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.connectionError(err)
	}
	if response.StatusCode/100 == 2 {
		return response, nil
	}
	defer response.Body.Close()
	return nil, answerError(response, r.notFound)
}

// connectionError says where the gateway was expected when it cannot be
// reached.
func (c *Client) connectionError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, syscall.ECONNREFUSED) || isDNSError(err) {
		return fmt.Errorf("cannot reach the gateway: is the gateway running at %s? (make run), or name another with --gateway or CO2_GATEWAY (%w)", c.Gateway, err)
	}
	return fmt.Errorf("calling the gateway at %s: %w", c.Gateway, err)
}

func isDNSError(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

// answerError reads the API's error shape {"code","message","details"}.
func answerError(response *http.Response, notFound string) error {
	var shape struct {
		Message string `json:"message"`
	}
	body, _ := io.ReadAll(io.LimitReader(response.Body, 64<<10))
	if json.Unmarshal(body, &shape) != nil || shape.Message == "" {
		shape.Message = strings.TrimSpace(string(body))
	}
	apiErr := &Error{Status: response.StatusCode, Message: shape.Message}
	switch response.StatusCode {
	case http.StatusUnauthorized:
		apiErr.Message = "not logged in, or the login has expired"
		apiErr.Hint = "run co2 login"
	case http.StatusForbidden:
		apiErr.Hint = "your role does not allow this; ask a lab manager or an admin"
	case http.StatusNotFound:
		if notFound != "" {
			apiErr.Message = notFound
			apiErr.Hint = ""
		}
	case http.StatusTooManyRequests:
		apiErr.Hint = "try again after " + response.Header.Get("Retry-After") + " s"
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		apiErr.Hint = "a service is down; try again shortly (GET /ready says which)"
	}
	return apiErr
}

// getJSON reads a JSON answer into into.
func (c *Client) getJSON(ctx context.Context, r request, into any) error {
	if r.method == "" {
		r.method = http.MethodGet
	}
	response, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if err := json.NewDecoder(io.LimitReader(response.Body, maxJSONBytes)).Decode(into); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// emptyJSON is the body of calls that take none.
func emptyJSON() io.Reader { return strings.NewReader("{}") }

// jsonBody encodes v as a request body.
func jsonBody(v any) (io.Reader, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(string(raw)), nil
}

// Count is an int64 of the API: protojson writes them as strings.
type Count int64

// UnmarshalJSON takes "12" or 12.
func (n *Count) UnmarshalJSON(raw []byte) error {
	text := strings.Trim(string(raw), `"`)
	if text == "" || text == "null" {
		*n = 0
		return nil
	}
	value, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return fmt.Errorf("count %s: %w", raw, err)
	}
	*n = Count(value)
	return nil
}

// MarshalJSON writes a number (scripts read numbers).
func (n Count) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(n), 10)), nil }
