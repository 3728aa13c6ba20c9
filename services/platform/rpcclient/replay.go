package rpcclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"time"
)

// replayDelays are the waits before the second and later attempts of a
// request no server received: a peer replaced in a rolling update is out
// of every proxy within seconds.
var replayDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second}

// replaying sends a request again when no server received it: the
// connection could not be opened (a pod that closed its listener, still in
// a proxy's list), or a server shutting down refused its stream (HTTP/2
// GOAWAY: the transport replays it on a new connection when the body can be
// read again). Either way no handler ran, so this is safe for any method.
//
// A unary Connect message (the gateway's transcoded REST calls) is read
// before it is sent, up to maxBody bytes, so that it can be sent again;
// streams are sent as they come and never replayed.
type replaying struct {
	next    http.RoundTripper
	maxBody int64
}

func (t replaying) RoundTrip(r *http.Request) (*http.Response, error) {
	r, err := t.rewindable(r)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		response, err := t.next.RoundTrip(r)
		if err == nil || attempt == len(replayDelays) || !neverSent(err) {
			return response, err
		}
		again, ok := fresh(r)
		if !ok {
			return nil, err
		}
		select {
		case <-r.Context().Done():
			return nil, errors.Join(err, context.Cause(r.Context()))
		case <-time.After(replayDelays[attempt]):
		}
		r = again
	}
}

// rewindable returns r with a body that can be read again (GetBody) when
// it is a unary Connect message of at most maxBody bytes; otherwise r.
func (t replaying) rewindable(r *http.Request) (*http.Request, error) {
	if r.Body == nil || r.Body == http.NoBody || r.GetBody != nil || !unary(r) {
		return r, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, t.maxBody+1))
	if err != nil {
		_ = r.Body.Close()
		return nil, err
	}
	clone := r.Clone(r.Context())
	if int64(len(body)) > t.maxBody {
		// Too long to hold: sent as it comes (the server refuses it).
		clone.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return clone, nil
	}
	_ = r.Body.Close()
	clone.ContentLength = int64(len(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.Body, _ = clone.GetBody()
	return clone, nil
}

// unary tells a unary Connect request (application/proto, application/json)
// from a stream (application/connect+proto, ...), whose body may still be
// arriving from its client.
func unary(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mediaType == "application/proto" || mediaType == "application/json")
}

// fresh returns r ready to be sent again, with a new body.
func fresh(r *http.Request) (*http.Request, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, true
	}
	if r.GetBody == nil {
		return nil, false
	}
	body, err := r.GetBody()
	if err != nil {
		return nil, false
	}
	again := r.Clone(r.Context())
	again.Body = body
	return again, true
}

// neverSent is an error from before any byte reached a server: the
// connection was not opened.
func neverSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
