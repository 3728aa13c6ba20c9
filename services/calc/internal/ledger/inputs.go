package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// AppendInputs writes inputs as a JSON object, in order.
func AppendInputs(buffer []byte, inputs []kinds.Input) []byte {
	buffer = append(buffer, '{')
	for i, input := range inputs {
		if i > 0 {
			buffer = append(buffer, ',')
		}
		buffer = appendJSONString(buffer, input.Name)
		buffer = append(buffer, ':')
		switch value := input.Value.(type) {
		case string:
			buffer = appendJSONString(buffer, value)
		case int64:
			buffer = strconv.AppendInt(buffer, value, 10)
		case int32:
			buffer = strconv.AppendInt(buffer, int64(value), 10)
		case float64:
			buffer = strconv.AppendFloat(buffer, value, 'g', -1, 64)
		case bool:
			buffer = strconv.AppendBool(buffer, value)
		default:
			buffer = appendJSONString(buffer, fmt.Sprint(value))
		}
	}
	return append(buffer, '}')
}

// RowOf rebuilds the row an activity was computed from: its inputs hold
// every column's value under the column's name.
func RowOf(inputs []byte, kind *kinds.Kind, row kinds.Row) error {
	texts := make(map[string]string, len(kind.Columns)+8)
	if err := InputTexts(inputs, texts); err != nil {
		return err
	}
	RowFrom(texts, kind, row)
	return nil
}

// InputTexts reads an activity's inputs (a JSON object of strings, numbers
// and booleans, as AppendInputs writes it) into texts, each value as a
// row's cell would hold it: numbers as imports write them (strconv 'g',
// -1), booleans as true or false; null values are left out. texts is
// cleared first. Inputs of another shape are read by encoding/json.
func InputTexts(inputs []byte, texts map[string]string) error {
	clear(texts)
	if readFlat(inputs, texts) {
		return nil
	}
	clear(texts)
	var values map[string]any
	decoder := json.NewDecoder(bytes.NewReader(inputs))
	decoder.UseNumber()
	if err := decoder.Decode(&values); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	for name, value := range values {
		switch value := value.(type) {
		case nil:
		case string:
			texts[name] = value
		case json.Number:
			texts[name] = formatNumber(value)
		case bool:
			texts[name] = strconv.FormatBool(value)
		default:
			texts[name] = fmt.Sprint(value)
		}
	}
	return nil
}

// RowFrom fills row with the kind's columns of an activity's input texts.
func RowFrom(texts map[string]string, kind *kinds.Kind, row kinds.Row) {
	clear(row)
	for _, column := range kind.Columns {
		if value, ok := texts[column.Name]; ok {
			row[column.Name] = value
		}
	}
}

// readFlat reads a flat JSON object the way AppendInputs writes one,
// without encoding/json's maps of interfaces (a recalculation or scenario
// reads millions); false for anything else (nested values, escapes it does
// not write), which the caller reads the slow way.
func readFlat(data []byte, texts map[string]string) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		key, next, ok := readString(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '"':
			value, next, ok := readString(data, i)
			if !ok {
				return false
			}
			texts[key], i = value, next
		case c == 't' && bytes.HasPrefix(data[i:], []byte("true")):
			texts[key], i = "true", i+4
		case c == 'f' && bytes.HasPrefix(data[i:], []byte("false")):
			texts[key], i = "false", i+5
		case c == 'n' && bytes.HasPrefix(data[i:], []byte("null")):
			i += 4
		case c == '-' || (c >= '0' && c <= '9'):
			end := i
			for end < len(data) && strings.IndexByte("+-0123456789.eE", data[end]) >= 0 {
				end++
			}
			texts[key], i = formatNumber(json.Number(data[i:end])), end
		default:
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// readString reads the JSON string at data[i]: the escapes AppendInputs
// writes (\", \\, \n, \r, \t, \u00XX) and valid UTF-8; false otherwise.
func readString(data []byte, i int) (string, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return "", i, false
	}
	i++
	start := i
	for i < len(data) && data[i] != '"' && data[i] != '\\' && data[i] >= 0x20 {
		i++
	}
	if i < len(data) && data[i] == '"' {
		if !utf8.Valid(data[start:i]) {
			return "", i, false
		}
		return string(data[start:i]), i + 1, true
	}
	var out []byte
	out = append(out, data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", i, false
			}
			return string(out), i + 1, true
		case c < 0x20:
			return "", i, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(data) {
			return "", i, false
		}
		switch data[i+1] {
		case '"', '\\', '/':
			out = append(out, data[i+1])
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(data) {
				return "", i, false
			}
			code, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
			if err != nil || code >= 0xD800 && code <= 0xDFFF { // surrogates: the slow way
				return "", i, false
			}
			out = utf8.AppendRune(out, rune(code))
			i += 6
			continue
		default:
			return "", i, false
		}
		i += 2
	}
	return "", i, false
}

// formatNumber writes a number as imports do (strconv 'g', -1).
func formatNumber(number json.Number) string {
	if integer, err := number.Int64(); err == nil {
		return strconv.FormatInt(integer, 10)
	}
	if float, err := number.Float64(); err == nil {
		return strconv.FormatFloat(float, 'g', -1, 64)
	}
	return number.String()
}

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
