package ledger

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// slowTexts reads inputs with encoding/json, the reference the fast
// reader must agree with.
func slowTexts(t *testing.T, inputs []byte) map[string]string {
	t.Helper()
	var values map[string]any
	decoder := json.NewDecoder(bytes.NewReader(inputs))
	decoder.UseNumber()
	if err := decoder.Decode(&values); err != nil {
		t.Fatalf("%s: %v", inputs, err)
	}
	texts := map[string]string{}
	for name, value := range values {
		switch value := value.(type) {
		case string:
			texts[name] = value
		case json.Number:
			texts[name] = formatNumber(value)
		case bool:
			texts[name] = strconv.FormatBool(value)
		}
	}
	return texts
}

// Whatever AppendInputs writes, the fast reader reads as encoding/json
// does: every kind of value, escapes, multi-byte text, odd numbers.
func TestInputTextsReadWhatAppendInputsWrites(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "GVA", "Freezer -80 °C", "quote \" and \\ back", "tab\tnew\nline\r", "\x01\x1f", "日本語", "emoji 🚆", "a/b", "\x7f"}
	numbers := []any{int64(0), int64(-7), int64(1 << 60), 0.1, -2.5e-9, 1e21, 123456.789, math.MaxFloat64, int32(42), float64(3)}
	for n := 0; n < 2000; n++ {
		var inputs []kinds.Input
		for i := range random.IntN(12) {
			name := "k" + strconv.Itoa(i)
			var value any
			switch random.IntN(3) {
			case 0:
				value = texts[random.IntN(len(texts))]
			case 1:
				value = numbers[random.IntN(len(numbers))]
			default:
				value = random.IntN(2) == 0
			}
			inputs = append(inputs, kinds.Input{Name: name, Value: value})
		}
		written := AppendInputs(nil, inputs)
		got := map[string]string{}
		if !readFlat(written, got) {
			t.Fatalf("the fast reader gave up on %s", written)
		}
		if want := slowTexts(t, written); !maps.Equal(got, want) {
			t.Fatalf("%s: read %v, want %v", written, got, want)
		}
	}
}

// Inputs of another shape are read the slow way, the same.
func TestInputTextsOfAnotherShape(t *testing.T) {
	for _, inputs := range []string{
		` { "a" : 1 , "b":"x" } `,
		`{"nested":{"a":1},"b":2}`,
		`{"list":[1,2],"b":"y"}`,
		`{"surrogate":"\ud83d\ude86"}`,
		`{"escaped":"\u00e9\/"}`,
		`{"n":null,"b":true}`,
		`{}`,
	} {
		got := map[string]string{"stale": "value"}
		if err := InputTexts([]byte(inputs), got); err != nil {
			t.Fatalf("%s: %v", inputs, err)
		}
		want := slowTexts(t, []byte(inputs))
		for name, value := range want {
			if got[name] != value {
				t.Errorf("%s: %s = %q, want %q", inputs, name, got[name], value)
			}
		}
		if _, ok := got["stale"]; ok {
			t.Errorf("%s: a value of the previous row is left", inputs)
		}
	}
	if err := InputTexts([]byte(`{"a":`), map[string]string{}); err == nil {
		t.Fatal("a broken object was read")
	}
}
