package csvfile

import (
	"strings"
	"testing"
)

// A file is checked chunk by chunk: a character split across two chunks is
// fine, a bad byte is reported with its line, and a file that stops inside
// a character is refused.
func TestUTF8CheckAcrossChunks(t *testing.T) {
	check := func(chunks ...string) error {
		var c UTF8Check
		for _, chunk := range chunks {
			if err := c.Write([]byte(chunk)); err != nil {
				return err
			}
		}
		return c.End()
	}
	euro := "€" // three bytes
	if err := check("name\nPrice "+euro[:1], euro[1:]+"\n"); err != nil {
		t.Fatalf("a character split across chunks: %v", err)
	}
	if err := check("name\nok\n", "caf\xe9\n"); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a Latin-1 byte on line 3: %v", err)
	}
	if err := check("name\n" + euro[:2]); err == nil || !strings.Contains(err.Error(), "ends inside a character") {
		t.Fatalf("a file cut inside a character: %v", err)
	}
}
