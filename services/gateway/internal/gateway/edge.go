package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/gateway/internal/ratelimit"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/reqbody"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// edge guards /api/v1: a verified bearer token, the caller's rate budget
// and a bounded body (counted after decompression), before anything
// reaches a service. The token itself travels on to the service, which
// verifies it again.
type edge struct {
	verifier       *authn.Verifier
	limiter        *ratelimit.Limiter
	maxBodyBytes   int64
	trustedProxies []netip.Prefix
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
			resterr.TooLarge(w, e.maxBodyBytes)
			return
		}
		token := authn.BearerToken(r.Header.Get("Authorization"))
		// Every token is checked, a fresh one too: a check costs a
		// signature verification (the verifier fetches the issuer's keys
		// no more than once per OAUTH_KEYS_MIN_REFRESH whatever it is
		// sent), so only refused callers spend their address's budget and
		// a busy address never locks out a valid login.
		principal, known := e.verifier.Verified(token)
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
			if !e.limiter.Allow(r.Context(), w, ratelimit.ClassAnonymous, e.clientAddress(r)) {
				return
			}
			w.Header().Set("WWW-Authenticate", authn.Challenge)
			resterr.Write(w, http.StatusUnauthorized, reason)
			return
		}
		noteSubject(r.Context(), principal.Subject)
		if !e.limiter.Allow(r.Context(), w, routeClass(r), "sub:"+principal.Subject) {
			return
		}
		if status, err := reqbody.Decode(r, e.maxBodyBytes); err != nil {
			resterr.Write(w, status, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(authn.WithPrincipal(r.Context(), principal)))
	})
}

// routeClass sorts a request into its rate budget.
func routeClass(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return ratelimit.ClassRead
	case r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/imports") || r.URL.Path == "/api/v1/factor-datasets"):
		return ratelimit.ClassUpload
	default:
		return ratelimit.ClassWrite
	}
}

// clientAddress is the caller's IP. A request from a trusted proxy (an
// ingress, a load balancer: TRUSTED_PROXIES) is taken to come from the
// nearest X-Forwarded-For hop that is not itself a trusted proxy; earlier
// hops are the client's to write and never count. Anyone else's
// X-Forwarded-For is ignored.
func (e *edge) clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return "ip:" + host
	}
	peer = peer.Unmap()
	if !e.trusted(peer) {
		return "ip:" + peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: the last trusted one is all we know
		}
		peer = hop.Unmap()
		if !e.trusted(peer) {
			break
		}
	}
	return "ip:" + peer.String()
}

func (e *edge) trusted(addr netip.Addr) bool {
	for _, prefix := range e.trustedProxies {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}
