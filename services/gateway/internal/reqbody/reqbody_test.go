package reqbody

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
	if status, err := Decode(r, 1<<20); err != nil {
		t.Fatalf("%d %v", status, err)
	}
	read, err := io.Copy(io.Discard, r.Body)
	if !errors.Is(err, ErrTooLarge) || read > 1<<20 || !TooLarge(r) {
		t.Fatalf("a %d-byte gzip body inflating to 10 MiB under a 1 MiB limit: read %d bytes, %v", len(compressed), read, err)
	}
	if r.Header.Get("Content-Encoding") != "" {
		t.Error("the body is passed on inflated but still says gzip")
	}

	small := httptest.NewRequest(http.MethodPost, "/api/v1/labs", bytes.NewReader(bomb(t, 1000)))
	small.Header.Set("Content-Encoding", "gzip")
	if _, err := Decode(small, 1<<20); err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(small.Body); err != nil || len(body) != 1000 {
		t.Fatalf("a small gzip body: %d bytes, %v", len(body), err)
	}

	other := httptest.NewRequest(http.MethodPost, "/api/v1/labs", strings.NewReader("x"))
	other.Header.Set("Content-Encoding", "br")
	if status, err := Decode(other, 1<<20); status != http.StatusUnsupportedMediaType || err == nil {
		t.Fatalf("br: %d %v, want 415", status, err)
	}
}
