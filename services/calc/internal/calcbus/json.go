package calcbus

import "unicode/utf8"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(buffer []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buffer = append(buffer, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			buffer = append(buffer, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				buffer = append(buffer, '\\', c)
			case '\n':
				buffer = append(buffer, '\\', 'n')
			case '\r':
				buffer = append(buffer, '\\', 'r')
			case '\t':
				buffer = append(buffer, '\\', 't')
			default:
				buffer = append(buffer, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buffer = append(buffer, `\ufffd`...)
		} else {
			buffer = append(buffer, s[i:i+size]...)
		}
		i += size
	}
	return append(buffer, '"')
}
