package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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
	var values map[string]any
	decoder := json.NewDecoder(bytes.NewReader(inputs))
	decoder.UseNumber()
	if err := decoder.Decode(&values); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	clear(row)
	for _, column := range kind.Columns {
		switch value := values[column.Name].(type) {
		case nil:
		case string:
			row[column.Name] = value
		case json.Number:
			row[column.Name] = formatNumber(value)
		case bool:
			row[column.Name] = strconv.FormatBool(value)
		default:
			row[column.Name] = fmt.Sprint(value)
		}
	}
	return nil
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
