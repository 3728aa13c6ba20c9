// Package reqbody bounds a request's body at the edge and undoes its
// Content-Encoding, so the bound counts the bytes the services will read.
package reqbody

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Decode bounds r's body at limit bytes and undoes its
// Content-Encoding, so the limit counts the bytes the services will read:
// a 300 KB gzip body cannot inflate to gigabytes behind it. gzip is the
// one encoding taken (the one vanguard and Connect speak); the compressed
// bytes are bounded too, since a gzip stream can be long and inflate to
// nothing. It returns the HTTP status to answer with when the body cannot
// be taken.
func Decode(r *http.Request, limit int64) (int, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return 0, nil
	}
	raw := &limitedBody{ReadCloser: r.Body, remaining: limit}
	switch encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); encoding {
	case "", "identity":
		r.Body = raw
		return 0, nil
	case "gzip", "x-gzip":
		inflater, err := gzip.NewReader(raw)
		if errors.Is(err, ErrTooLarge) {
			return http.StatusRequestEntityTooLarge, errors.New(TooLargeMessage(limit))
		}
		if err != nil {
			return http.StatusBadRequest, fmt.Errorf("the body is not gzip, as its Content-Encoding says: %w", err)
		}
		r.Body = &limitedBody{ReadCloser: inflatedBody{Reader: inflater, raw: raw}, remaining: limit, compressed: raw}
		r.Header.Del("Content-Encoding")
		r.Header.Del("Content-Length")
		r.ContentLength = -1
		return 0, nil
	default:
		return http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not supported: send the body as it is, or gzip-compressed", encoding)
	}
}

// TooLargeMessage says how large a body may be.
func TooLargeMessage(limit int64) string {
	return fmt.Sprintf("the request body is larger than this endpoint takes (%d bytes, counted after decompression)", limit)
}

// inflatedBody reads a gzip body and closes the request's.
type inflatedBody struct {
	io.Reader
	raw io.Closer
}

func (b inflatedBody) Close() error { return b.raw.Close() }

// limitedBody ends a body at its limit and remembers that it did.
type limitedBody struct {
	io.ReadCloser
	remaining int64
	exceeded  bool
	// compressed is the limited raw body behind an inflated one.
	compressed *limitedBody
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var probe [1]byte
		if n, _ := b.ReadCloser.Read(probe[:]); n > 0 {
			b.exceeded = true
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.ReadCloser.Read(p)
	b.remaining -= int64(n)
	return n, err
}

// ErrTooLarge ends a body read past its bound.
var ErrTooLarge = errors.New("request body too large")

// TooLarge reports whether r's body was cut at the limit, before or
// after decompression.
func TooLarge(r *http.Request) bool {
	body, ok := r.Body.(*limitedBody)
	return ok && (body.exceeded || (body.compressed != nil && body.compressed.exceeded))
}
