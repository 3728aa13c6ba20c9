// Package auth gets and keeps the command-line client's tokens: the OIDC
// device authorization flow for people, client credentials for scripts, a
// token file in the user's config directory, refreshed when it expires.
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"
)

// Grants a cached token came from.
const (
	GrantDevice            = "device_code"
	GrantClientCredentials = "client_credentials"
)

// Login is what the token file holds.
type Login struct {
	Issuer   string        `json:"issuer"`
	ClientID string        `json:"clientId"`
	Grant    string        `json:"grant"`
	Token    *oauth2.Token `json:"token"`
}

// ErrNotLoggedIn is a missing token file.
var ErrNotLoggedIn = errors.New("not logged in: run co2 login")

// CachePath is the token file: <user config dir>/co2/token.json
// ($XDG_CONFIG_HOME, ~/.config, ~/Library/Application Support, %AppData%).
func CachePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory to keep the login in: %w", err)
	}
	return filepath.Join(dir, "co2", "token.json"), nil
}

// Load reads the token file.
func Load() (Login, error) {
	path, err := CachePath()
	if err != nil {
		return Login{}, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Login{}, ErrNotLoggedIn
	}
	if err != nil {
		return Login{}, fmt.Errorf("read the login: %w", err)
	}
	var login Login
	if err := json.Unmarshal(raw, &login); err != nil || login.Token == nil {
		return Login{}, fmt.Errorf("the login in %s is unreadable: run co2 login", path)
	}
	return login, nil
}

// Save writes the token file, readable by its owner only, whole or not at
// all (a temporary file renamed over it).
func Save(login Login) error {
	path, err := CachePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keep the login: %w", err)
	}
	raw, err := json.MarshalIndent(login, "", "  ")
	if err != nil {
		return err
	}
	temp, err := os.CreateTemp(filepath.Dir(path), ".token-*.json")
	if err != nil {
		return fmt.Errorf("keep the login: %w", err)
	}
	defer os.Remove(temp.Name()) // gone after the rename
	if err := temp.Chmod(0o600); err != nil {
		_ = temp.Close()
		return fmt.Errorf("keep the login: %w", err)
	}
	if _, err := temp.Write(raw); err != nil {
		_ = temp.Close()
		return fmt.Errorf("keep the login: %w", err)
	}
	if err := temp.Close(); err != nil {
		return fmt.Errorf("keep the login: %w", err)
	}
	if err := os.Rename(temp.Name(), path); err != nil {
		return fmt.Errorf("keep the login: %w", err)
	}
	return nil
}

// Remove deletes the token file; it tells whether there was one.
func Remove() (bool, error) {
	path, err := CachePath()
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
