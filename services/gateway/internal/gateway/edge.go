package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// edge guards /api/v1: a bounded body, a verified bearer token, and the
// caller's rate budget, before anything reaches a service. The token itself
// travels on to the service, which verifies it again.
type edge struct {
	verifier     *authn.Verifier
	limiter      *limiter
	maxBodyBytes int64
	trustProxy   bool
	// verifications counts token checks by result (ok, failed).
	verifications metric.Int64Counter
}

// newVerificationCounter is the gateway's count of token verifications.
func newVerificationCounter() metric.Int64Counter {
	counter, err := otel.Meter("co2-calculator/gateway").Int64Counter("gateway.token.verifications",
		metric.WithDescription("Bearer tokens verified at the edge (signature and claims checked; a token verified recently is not checked again), by result (ok, failed)"))
	if err != nil {
		otel.Handle(err)
	}
	return counter
}

func (e *edge) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > e.maxBodyBytes {
			writeTooLarge(w, e.maxBodyBytes)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// A body without a length is cut at the limit; clientErrors then
			// answers 413.
			r.Body = &limitedBody{ReadCloser: r.Body, remaining: e.maxBodyBytes}
		}
		token := authn.BearerToken(r.Header.Get("Authorization"))
		address := e.clientAddress(r)
		// An address whose failures spent its budget gets no more token
		// checks (each bad token may cost a key-set fetch from the
		// provider) until the budget recovers; a token verified recently
		// costs no check, so it is let through.
		principal, known := e.verifier.Verified(token)
		if token != "" && !known && e.limiter.spent(r.Context(), classAnonymous, address) {
			e.limiter.allow(r.Context(), w, classAnonymous, address)
			return
		}
		var reason string
		switch {
		case known: // verified by an earlier request
		case token == "":
			reason = "missing bearer token: send Authorization: Bearer <access token>"
		default:
			verified, err := e.verifier.Verify(r.Context(), token)
			if err != nil {
				reason = err.Error()
				e.verifications.Add(r.Context(), 1, metric.WithAttributes(attribute.String("result", "failed")))
			} else {
				principal = verified
				e.verifications.Add(r.Context(), 1, metric.WithAttributes(attribute.String("result", "ok")))
			}
		}
		if reason != "" {
			// Unauthenticated callers share a budget per address, so
			// guessing tokens is slow.
			if !e.limiter.allow(r.Context(), w, classAnonymous, address) {
				return
			}
			w.Header().Set("WWW-Authenticate", authn.Challenge)
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"code": 16, "message": reason, "details": []any{}, // google.rpc.Code UNAUTHENTICATED
			})
			return
		}
		if !e.limiter.allow(r.Context(), w, routeClass(r), "sub:"+principal.Subject) {
			return
		}
		next.ServeHTTP(w, r.WithContext(authn.WithPrincipal(r.Context(), principal)))
	})
}

// routeClass sorts a request into its rate budget.
func routeClass(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return classRead
	case r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/imports") || r.URL.Path == "/api/v1/factor-datasets"):
		return classUpload
	default:
		return classWrite
	}
}

// clientAddress is the caller's IP: behind a trusted proxy (an ingress),
// the last X-Forwarded-For hop, the one that proxy added (earlier hops are
// the client's to write); else the peer address.
func (e *edge) clientAddress(r *http.Request) string {
	if e.trustProxy {
		if forwarded := r.Header.Values("X-Forwarded-For"); len(forwarded) > 0 {
			hops := strings.Split(forwarded[len(forwarded)-1], ",")
			return "ip:" + strings.TrimSpace(hops[len(hops)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
		"code":    3, // google.rpc.Code INVALID_ARGUMENT
		"message": fmt.Sprintf("the request body is larger than this endpoint takes (%d bytes)", limit),
		"details": []any{},
	})
}

// limitedBody ends a body at its limit and remembers that it did.
type limitedBody struct {
	io.ReadCloser
	remaining int64
	exceeded  bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var probe [1]byte
		if n, _ := b.ReadCloser.Read(probe[:]); n > 0 {
			b.exceeded = true
			return 0, errBodyTooLarge
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

var errBodyTooLarge = errors.New("request body too large")

// bodyTooLarge reports whether r's body was cut at the limit.
func bodyTooLarge(r *http.Request) bool {
	body, ok := r.Body.(*limitedBody)
	return ok && body.exceeded
}
