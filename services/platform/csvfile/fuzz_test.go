package csvfile_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/co2-calculator/co2-calculator/services/platform/csvfile"
)

// FuzzReader feeds the reader arbitrary files. Whatever the bytes, it must
// not panic, must end, and every row it returns must either carry an error
// or have exactly the header's number of UTF-8 fields. The seed corpus holds
// what real spreadsheets produce; run longer with
// go test -fuzz FuzzReader ./services/platform/csvfile/.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"\xEF\xBB\xBFa,b\r\n1,2\r\n",                           // BOM and CRLF
		"a;b;c\n1;2,5;3\n",                                     // semicolons, decimal comma
		"name,note\n\"multi\nline\",\"with \"\"quotes\"\"\"\n", // quoted newlines and quotes
		"a,b\n1\n1,2,3\n\n4,5\n",                               // ragged rows and a blank line
		"a,b\n\xff\xfe,x\n",                                    // invalid UTF-8
		"a,b\n" + strings.Repeat("x", 1<<20) + ",y\n",          // a 1 MB field
		"a,b\n\"unterminated,1\n2,3\n",                         // a quote never closed
		"a,b\r1,2\r",                                           // old Mac line ends
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		reader, err := csvfile.NewReader(strings.NewReader(string(file)))
		if err != nil {
			return // a refused header is a fine answer
		}
		columns := len(reader.Header().Columns)
		for rows := 0; ; rows++ {
			record, err := reader.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("the reader failed: %v", err)
			}
			if rows > len(file)+1 {
				t.Fatal("more rows than bytes: the reader does not end")
			}
			if record.Err != nil {
				continue
			}
			if len(record.Fields) != columns {
				t.Fatalf("row %d has %d fields for %d columns and no error", record.Line, len(record.Fields), columns)
			}
			for _, field := range record.Fields {
				if !utf8.ValidString(field) {
					t.Fatalf("row %d has a field that is not UTF-8 and no error", record.Line)
				}
			}
		}
	})
}
