package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"connectrpc.com/connect"
)

func TestEveryStatusReadsBackAsACodeOfThatStatus(t *testing.T) {
	for _, pair := range codeStatuses {
		if got := httpStatus(codeOf(pair.status)); got != pair.status {
			t.Errorf("status %d reads as %v, which answers %d", pair.status, codeOf(pair.status), got)
		}
	}
	if httpStatus(connect.CodeInternal) != http.StatusInternalServerError || codeOf(http.StatusUnsupportedMediaType) != connect.CodeInvalidArgument {
		t.Error("internal errors or unsupported media types are not mapped")
	}
}

func bomb(t *testing.T, inflated int) []byte {
	t.Helper()
	var out bytes.Buffer
	writer := gzip.NewWriter(&out)
	if _, err := writer.Write(bytes.Repeat([]byte{'a'}, inflated)); err != nil {
		t.Fatal(err)
	}
	_ = writer.Close()
	return out.Bytes()
}

func TestAGzipBodyIsCountedInflated(t *testing.T) {
	compressed := bomb(t, 10<<20)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/labs", bytes.NewReader(compressed))
	r.Header.Set("Content-Encoding", "gzip")
	if status, err := decodeBody(r, 1<<20); err != nil {
		t.Fatalf("%d %v", status, err)
	}
	read, err := io.Copy(io.Discard, r.Body)
	if !errors.Is(err, errBodyTooLarge) || read > 1<<20 || !bodyTooLarge(r) {
		t.Fatalf("a %d-byte gzip body inflating to 10 MiB under a 1 MiB limit: read %d bytes, %v", len(compressed), read, err)
	}
	if r.Header.Get("Content-Encoding") != "" {
		t.Error("the body is passed on inflated but still says gzip")
	}

	small := httptest.NewRequest(http.MethodPost, "/api/v1/labs", bytes.NewReader(bomb(t, 1000)))
	small.Header.Set("Content-Encoding", "gzip")
	if _, err := decodeBody(small, 1<<20); err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(small.Body); err != nil || len(body) != 1000 {
		t.Fatalf("a small gzip body: %d bytes, %v", len(body), err)
	}

	other := httptest.NewRequest(http.MethodPost, "/api/v1/labs", strings.NewReader("x"))
	other.Header.Set("Content-Encoding", "br")
	if status, err := decodeBody(other, 1<<20); status != http.StatusUnsupportedMediaType || err == nil {
		t.Fatalf("br: %d %v, want 415", status, err)
	}
}

func TestPlainTextErrorsGetTheAPIShape(t *testing.T) {
	handler := jsonErrors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
	}))
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/api/v1/labs", nil))
	var shape struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if recorder.Code != http.StatusUnsupportedMediaType || json.Unmarshal(recorder.Body.Bytes(), &shape) != nil ||
		shape.Code != int(connect.CodeInvalidArgument) || shape.Message != "unsupported media type" {
		t.Fatalf("%d %s", recorder.Code, recorder.Body)
	}
}

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
