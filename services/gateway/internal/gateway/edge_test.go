package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwardedForIsBelievedFromTrustedProxiesOnly(t *testing.T) {
	guard := &edge{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, row := range []struct {
		peer, forwarded, want string
	}{
		{"203.0.113.7:1234", "198.51.100.1", "ip:203.0.113.7"},                  // not a proxy: its header is ignored
		{"10.1.2.3:1234", "198.51.100.1", "ip:198.51.100.1"},                    // the ingress names the client
		{"10.1.2.3:1234", "1.2.3.4, 198.51.100.1, 10.9.9.9", "ip:198.51.100.1"}, // past trusted hops; earlier ones are the client's to write
		{"10.1.2.3:1234", "", "ip:10.1.2.3"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = row.peer
		if row.forwarded != "" {
			r.Header.Set("X-Forwarded-For", row.forwarded)
		}
		if got := guard.clientAddress(r); got != row.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", row.peer, row.forwarded, got, row.want)
		}
	}
}
