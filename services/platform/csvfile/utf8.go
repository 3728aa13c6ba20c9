package csvfile

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// UTF8Check validates a file arriving in chunks as UTF-8, carrying a rune
// split between two chunks over, and says on which line a bad byte is.
type UTF8Check struct {
	pending []byte
	line    int64
}

// Write checks the next chunk.
func (c *UTF8Check) Write(chunk []byte) error {
	data := chunk
	if len(c.pending) > 0 {
		data = append(c.pending, chunk...)
		c.pending = nil
	}
	// Keep an incomplete rune at the end for the next chunk.
	cut := len(data)
	for back := 1; back <= utf8.UTFMax-1 && back <= len(data); back++ {
		if utf8.RuneStart(data[len(data)-back]) {
			if !utf8.FullRune(data[len(data)-back:]) {
				cut = len(data) - back
			}
			break
		}
	}
	valid := data[:cut]
	if !utf8.Valid(valid) {
		for offset := 0; offset < len(valid); {
			r, width := utf8.DecodeRune(valid[offset:])
			if r == utf8.RuneError && width == 1 {
				return fmt.Errorf("the file is not UTF-8 text (line %d)", c.line+1+int64(bytes.Count(valid[:offset], []byte("\n"))))
			}
			offset += width
		}
	}
	c.line += int64(bytes.Count(valid, []byte("\n")))
	c.pending = append([]byte(nil), data[cut:]...)
	return nil
}

// End checks that the file did not stop inside a character.
func (c *UTF8Check) End() error {
	if len(c.pending) > 0 {
		return fmt.Errorf("the file is not UTF-8 text (it ends inside a character, line %d)", c.line+1)
	}
	return nil
}
