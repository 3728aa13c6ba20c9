package config_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
)

type sample struct {
	DatabaseURL  config.SecretURL `env:"TEST_CFG_DB_URL, default=postgres://app:hunter2@db:5432/co2"`
	ClientSecret config.Secret    `env:"TEST_CFG_SECRET"`
	Interval     time.Duration    `env:"TEST_CFG_INTERVAL, default=10s"`
	MaxConns     int32            `env:"TEST_CFG_MAX_CONNS, default=20"`
}

func TestLoadAppliesDefaultsAndEnvironment(t *testing.T) {
	t.Setenv("TEST_CFG_SECRET", "s3cret")
	t.Setenv("TEST_CFG_MAX_CONNS", "7")
	var cfg sample
	if err := config.Load(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != 10*time.Second || cfg.MaxConns != 7 || cfg.ClientSecret.Reveal() != "s3cret" {
		t.Fatalf("loaded %#v", cfg)
	}
	if cfg.DatabaseURL.Reveal() != "postgres://app:hunter2@db:5432/co2" {
		t.Fatalf("DB URL %q", cfg.DatabaseURL.Reveal())
	}
}

func TestLoadNamesTheMalformedVariable(t *testing.T) {
	t.Setenv("TEST_CFG_INTERVAL", "ten seconds")
	var cfg sample
	err := config.Load(context.Background(), &cfg)
	if err == nil || !strings.Contains(err.Error(), "TEST_CFG_INTERVAL") {
		t.Fatalf("want an error naming TEST_CFG_INTERVAL, got %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	t.Setenv("TEST_CFG_SECRET", "s3cret")
	var cfg sample
	if err := config.Load(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "secret", cfg.ClientSecret, "db", cfg.DatabaseURL)
	printed := logged.String() + fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)
	for _, leaked := range []string{"s3cret", "hunter2"} {
		if strings.Contains(printed, leaked) {
			t.Fatalf("%q leaked into %s", leaked, printed)
		}
	}
	if !strings.Contains(printed, "db:5432") {
		t.Fatalf("the redacted URL should still show the host: %s", printed)
	}
}

func TestDurationsAreWrittenForPeople(t *testing.T) {
	for d, want := range map[time.Duration]string{
		720 * time.Hour: "30 days", 24 * time.Hour: "1 day", 36 * time.Hour: "36h",
		90 * time.Minute: "1h30m", 45 * time.Second: "45s", 10 * time.Minute: "10m", 0: "0s",
	} {
		if got := config.DurationText(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
