// Package config loads a service's typed configuration from environment
// variables, once, at start.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Load fills cfg, a pointer to a struct with `env` tags, from the process
// environment. Defaults come from the tags; a malformed value is an error that
// names the variable.
func Load(ctx context.Context, cfg any) error {
	if err := envconfig.Process(ctx, cfg); err != nil {
		return fmt.Errorf("configuration: %s", nameVariable(err.Error(), reflect.TypeOf(cfg)))
	}
	return nil
}

// nameVariable rewrites envconfig's "Field: problem" into
// "VARIABLE: problem", since an operator knows the variable, not the Go field.
func nameVariable(message string, t reflect.Type) string {
	field, problem, found := strings.Cut(message, ": ")
	if !found {
		return message
	}
	if variable := variableOf(t, field); variable != "" {
		return variable + ": " + problem
	}
	return message
}

func variableOf(t reflect.Type, field string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if f.Name == field && tag != "" {
			return tag
		}
		if f.Type.Kind() == reflect.Struct || (f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct) {
			if variable := variableOf(f.Type, field); variable != "" {
				return variable
			}
		}
	}
	return ""
}

// Secret is a value that must never reach a log: printing it shows
// "[redacted]" (or nothing when it is empty).
type Secret string

// Reveal returns the value itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps JSON encoders (slog's JSON handler among them) from
// printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretURL is a URL whose password must never reach a log: printing it
// shows the URL with the password replaced by "xxxxx".
type SecretURL string

// Reveal returns the URL itself, password included.
func (u SecretURL) Reveal() string { return string(u) }

func (u SecretURL) String() string {
	parsed, err := url.Parse(string(u))
	if err != nil {
		return "[unparsable URL]"
	}
	return parsed.Redacted()
}

// GoString keeps %#v from printing the password.
func (u SecretURL) GoString() string { return u.String() }

// LogValue keeps slog from printing the password.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText keeps JSON encoders from printing the password.
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// DurationText writes a configured duration for people: whole days as
// "30 days", others as Go writes them less their zero units ("36h",
// "1h30m", "45s").
func DurationText(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > day && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	text := d.String()
	if strings.HasSuffix(text, "m0s") {
		text = strings.TrimSuffix(text, "0s")
	}
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	return text
}
