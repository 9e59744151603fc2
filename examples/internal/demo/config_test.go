package demo

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/internal/dbopen"
)

// Token keys as an operator writes them: 32 bytes of "1" and of "2" in
// standard base64, and 33 bytes of 0xfb in the URL alphabet, unpadded.
var (
	key1    = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("1", 32)))
	key2    = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("2", 32)))
	key1url = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 33))
)

func TestParseConfig(t *testing.T) {
	defaults := Config{
		Addr:            "127.0.0.1:8080",
		DSN:             "sessions.db",
		Lifetime:        336 * time.Hour,
		CleanupInterval: 5 * time.Minute,
		FreshAge:        15 * time.Minute,
	}
	with := func(f func(*Config)) Config {
		c := defaults
		f(&c)
		return c
	}
	allEnv := map[string]string{
		"ADDR":                     ":9000",
		"DATABASE_URL":             "postgres://u@db/app",
		"DB_MAX_CONNS":             "8",
		"SECURE_COOKIE":            "true",
		"SESSION_LIFETIME":         "24h",
		"SESSION_IDLE_TIMEOUT":     "30m",
		"SESSION_CLEANUP_INTERVAL": "0",
		"SESSION_TOKEN_KEY":        key1,
		"SESSION_MAX_PER_USER":     "3",
		"SESSION_FRESH_AGE":        "5m",
	}
	fromEnv := Config{
		Addr: ":9000", DSN: "postgres://u@db/app", DBMaxConns: 8, SecureCookie: true,
		Lifetime: 24 * time.Hour, IdleTimeout: 30 * time.Minute, CleanupInterval: 0,
		TokenKeys:   [][]byte{[]byte(strings.Repeat("1", 32))},
		MaxSessions: 3, FreshAge: 5 * time.Minute,
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{"defaults", nil, nil, defaults},
		{"env", nil, allEnv, fromEnv},
		{"flags", []string{
			"-addr", ":7000", "-dsn", "/tmp/s.db", "-db-max-conns", "12", "-secure-cookie", "-lifetime", "1h",
			"-idle-timeout", "10m", "-cleanup-interval", "1m", "-token-key", key2 + ", " + key1url,
			"-max-sessions", "5", "-fresh-age", "1ns",
		}, nil, Config{
			Addr: ":7000", DSN: "/tmp/s.db", DBMaxConns: 12, SecureCookie: true,
			Lifetime: time.Hour, IdleTimeout: 10 * time.Minute, CleanupInterval: time.Minute,
			TokenKeys:   [][]byte{[]byte(strings.Repeat("2", 32)), bytes.Repeat([]byte{0xfb}, 33)},
			MaxSessions: 5, FreshAge: time.Nanosecond,
		}},
		{"flags beat env", []string{"-addr", ":7000", "-db-max-conns", "3", "-secure-cookie=false", "-cleanup-interval", "2m",
			"-max-sessions", "0", "-fresh-age", "1h"}, allEnv,
			with(func(c *Config) {
				*c = fromEnv
				c.Addr, c.DBMaxConns, c.SecureCookie, c.CleanupInterval = ":7000", 3, false, 2*time.Minute
				c.MaxSessions, c.FreshAge = 0, time.Hour
			})},
		{"one SQLite connection", []string{"-db-max-conns", "1"}, nil, with(func(c *Config) { c.DBMaxConns = 1 })},
		{"empty env is unset", nil, map[string]string{"ADDR": "", "SESSION_LIFETIME": ""}, defaults},
		{"env booleans", nil, map[string]string{"SECURE_COOKIE": "1"}, with(func(c *Config) { c.SecureCookie = true })},
		{"postgresql scheme", []string{"-dsn", "postgresql://h/db"}, nil, with(func(c *Config) { c.DSN = "postgresql://h/db" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig("test", "127.0.0.1:8080", tc.args, getenv(tc.env), io.Discard)
			if err != nil {
				t.Fatalf("ParseConfig(%q) error = %v", tc.args, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseConfig(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // a part of the message
	}{
		{"bad env duration", nil, map[string]string{"SESSION_LIFETIME": "2 weeks"}, `SESSION_LIFETIME="2 weeks"`},
		{"bad env idle timeout", nil, map[string]string{"SESSION_IDLE_TIMEOUT": "soon"}, "SESSION_IDLE_TIMEOUT"},
		{"bad env cleanup", nil, map[string]string{"SESSION_CLEANUP_INTERVAL": "5"}, "SESSION_CLEANUP_INTERVAL"},
		{"bad env int", nil, map[string]string{"DB_MAX_CONNS": "many"}, `DB_MAX_CONNS="many"`},
		{"negative max conns", []string{"-db-max-conns", "-1"}, nil, "connection bound"},
		{"one PostgreSQL connection", []string{"-dsn", "postgres://h/db", "-db-max-conns", "1"}, nil, "listener"},
		{"bad env bool", nil, map[string]string{"SECURE_COOKIE": "yes please"}, `SECURE_COOKIE="yes please"`},
		{"bad env beaten by a flag is still an error", []string{"-lifetime", "1h"}, map[string]string{"SESSION_LIFETIME": "x"}, "SESSION_LIFETIME"},
		{"two bad env values", nil, map[string]string{"SESSION_LIFETIME": "x", "SECURE_COOKIE": "x"}, "SECURE_COOKIE"},
		{"bad flag duration", []string{"-lifetime", "forever"}, nil, "-lifetime"},
		{"unknown flag", []string{"-port", "80"}, nil, "-port"},
		{"extra argument", []string{"serve"}, nil, `"serve"`},
		{"zero lifetime", []string{"-lifetime", "0"}, nil, "at least 1s"},
		{"negative idle timeout", nil, map[string]string{"SESSION_IDLE_TIMEOUT": "-1m"}, "idle timeout"},
		{"negative cleanup interval", []string{"-cleanup-interval", "-5m"}, nil, "cleanup interval"},
		{"empty addr flag", []string{"-addr", ""}, nil, "listen address"},
		{"empty dsn flag", []string{"-dsn", ""}, nil, "database"},
		{"token key not base64", []string{"-token-key", "not base64!"}, nil, "token key 1"},
		{"bad env max sessions", nil, map[string]string{"SESSION_MAX_PER_USER": "two"}, `SESSION_MAX_PER_USER="two"`},
		{"negative max sessions", []string{"-max-sessions", "-1"}, nil, "session cap (-max-sessions, SESSION_MAX_PER_USER) is -1"},
		{"bad env fresh age", nil, map[string]string{"SESSION_FRESH_AGE": "15"}, "SESSION_FRESH_AGE"},
		{"zero fresh age", []string{"-fresh-age", "0"}, nil, "fresh login age (-fresh-age, SESSION_FRESH_AGE) is 0s"},
		{"negative fresh age", nil, map[string]string{"SESSION_FRESH_AGE": "-1m"}, "must be positive"},
		{"short token key", nil, map[string]string{"SESSION_TOKEN_KEY": key1 + ",c2hvcnQ="}, "token key 2 (-token-key, SESSION_TOKEN_KEY) is 5 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("test", ":1", tc.args, getenv(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseConfig(%q, env %v) error = %v, want one mentioning %q", tc.args, tc.env, err, tc.wantErr)
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	var out strings.Builder
	_, err := ParseConfig("gin", ":1", []string{"-h"}, getenv(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("ParseConfig(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: gin", "-addr", "ADDR", "-dsn", "DATABASE_URL", "-db-max-conns", "DB_MAX_CONNS", "-secure-cookie", "SECURE_COOKIE",
		"-lifetime", "SESSION_LIFETIME", "-idle-timeout", "SESSION_IDLE_TIMEOUT", "-cleanup-interval", "SESSION_CLEANUP_INTERVAL",
		"-token-key", "SESSION_TOKEN_KEY", "-max-sessions", "SESSION_MAX_PER_USER", "-fresh-age", "SESSION_FRESH_AGE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

func TestManagerConfig(t *testing.T) {
	keys := [][]byte{[]byte(strings.Repeat("k", 32))}
	c := Config{SecureCookie: true, Lifetime: time.Hour, IdleTimeout: time.Minute, TokenKeys: keys, MaxSessions: 2}
	mc := c.ManagerConfig()
	if !mc.CookieSecure || mc.Lifetime != time.Hour || mc.IdleTimeout != time.Minute || !reflect.DeepEqual(mc.TokenKeys, keys) {
		t.Errorf("ManagerConfig() = %+v, want Secure, 1h lifetime, 1m idle timeout, the token keys", mc)
	}
	if mc.MaxSessionsPerUser != 2 || mc.SessionCapPolicy != core.CapEndLeastRecent {
		t.Errorf("ManagerConfig() cap = %d, policy %v; want 2, ending the least recently seen", mc.MaxSessionsPerUser, mc.SessionCapPolicy)
	}
	if mc.CookieName != "" {
		t.Errorf("ManagerConfig().CookieName = %q, want the default", mc.CookieName)
	}
}

func TestDBOptions(t *testing.T) {
	if got := (Config{DBMaxConns: 7}).DBOptions(); got.MaxConns != 7 {
		t.Errorf("DBOptions().MaxConns = %d, want 7", got.MaxConns)
	}
	if got := (Config{}).DBOptions(); got != (dbopen.Options{}) {
		t.Errorf("DBOptions() of the zero Config = %+v, want dbopen's defaults", got)
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}
