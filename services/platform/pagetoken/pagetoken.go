// Package pagetoken makes the opaque page tokens of list endpoints: a cursor
// (where the next page starts) bound to the filters it was made for, so a
// token reused with other filters is refused instead of giving a wrong page.
package pagetoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Size limits of list endpoints.
const (
	DefaultSize = 50
	MaxSize     = 500
)

type envelope struct {
	Filters string          `json:"f"`
	Cursor  json.RawMessage `json:"c"`
}

// Encode returns the token for cursor under filters (any string that
// identifies the list's filters).
func Encode(cursor any, filters string) (string, error) {
	raw, err := json.Marshal(cursor)
	if err != nil {
		return "", err
	}
	token, err := json.Marshal(envelope{Filters: digest(filters), Cursor: raw})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(token), nil
}

// Decode reads token into cursor. An empty token leaves cursor alone and
// returns false (the first page). A token that is malformed or was made for
// other filters is an InvalidArgument error on page_token.
func Decode(token, filters string, cursor any) (bool, error) {
	if token == "" {
		return false, nil
	}
	invalid := apperr.Invalid("page_token", "not a token from the previous page of this list with the same filters; start again without page_token")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false, invalid
	}
	var decoded envelope
	if err := json.Unmarshal(raw, &decoded); err != nil || decoded.Filters != digest(filters) {
		return false, invalid
	}
	if err := json.Unmarshal(decoded.Cursor, cursor); err != nil {
		return false, invalid
	}
	return true, nil
}

// Size turns a requested page_size into the one served: 0 means DefaultSize,
// more than MaxSize is served as MaxSize, a negative size is refused.
func Size(requested int32) (int32, error) {
	switch {
	case requested < 0:
		return 0, apperr.Invalid("page_size", "must not be negative (got %d)", requested)
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	default:
		return requested, nil
	}
}

func digest(filters string) string {
	sum := sha256.Sum256([]byte(filters))
	return hex.EncodeToString(sum[:8])
}
