package csvout

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestWriteNeutralisesFormulas(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	cells := []string{"=HYPERLINK(\"http://x\")", "+1+2", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "plain", "-12.5", "3e-4", ""}
	if err := w.Write(cells...); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1+2", "'-1+cmd|' /C calc'!A0", "'@SUM(A1)", "'\tx", "'\rx", "plain", "-12.5", "3e-4", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d: got %q, want %q", i, got[i], want[i])
		}
	}
}
