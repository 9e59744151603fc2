package demo

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/internal/dbopen"
)

// Config is the configuration of an example app, from its flags and
// environment.
type Config struct {
	// Addr is the listen address. Flag -addr, env ADDR.
	Addr string
	// DSN names the database: a postgres:// or postgresql:// URL, or else an
	// SQLite file path. Flag -dsn, env DATABASE_URL. Default: "sessions.db".
	DSN string
	// DBMaxConns bounds the database connection pool, gormstore's
	// invalidation listener included. Flag -db-max-conns, env DB_MAX_CONNS.
	// Default: 0, dbopen's default (16 on PostgreSQL, 4 on SQLite).
	DBMaxConns int
	// SecureCookie sets the Secure attribute of the session cookie. Flag
	// -secure-cookie, env SECURE_COOKIE. Default: false.
	SecureCookie bool
	// Lifetime is the absolute session lifetime. Flag -lifetime, env
	// SESSION_LIFETIME. Default: 336h (two weeks).
	Lifetime time.Duration
	// IdleTimeout ends sessions unused for this long. Flag -idle-timeout,
	// env SESSION_IDLE_TIMEOUT. Zero means no idle timeout.
	IdleTimeout time.Duration
	// CleanupInterval is how often expired sessions are deleted. Flag
	// -cleanup-interval, env SESSION_CLEANUP_INTERVAL. Default: 5m; zero
	// turns the cleanup off.
	CleanupInterval time.Duration
	// TokenKeys are the secrets that tag session tokens, the first signing:
	// flag -token-key, env SESSION_TOKEN_KEY, base64, comma-separated.
	// Default: none, so the key kept in the database is used.
	TokenKeys [][]byte
	// MaxSessions is the most live sessions one user may have: a login
	// past it ends that user's least recently seen session. Flag
	// -max-sessions, env SESSION_MAX_PER_USER. Default: 0, no cap.
	MaxSessions int
	// FreshAge is how recent a login must be for POST /sensitive. Flag
	// -fresh-age, env SESSION_FRESH_AGE. Default: 15m.
	FreshAge time.Duration
}

// Defaults of Config other than the listen address, which differs by app.
const (
	DefaultDSN             = "sessions.db"
	DefaultLifetime        = 336 * time.Hour
	DefaultCleanupInterval = 5 * time.Minute
	DefaultFreshAge        = 15 * time.Minute
)

// ParseConfig reads the configuration of the app called name from args (the
// command line without the program name) and from getenv (os.Getenv in
// main). A flag beats its environment variable, which beats the default;
// defaultAddr is the default listen address. Usage and flag errors are
// written to output. It returns flag.ErrHelp when -h or -help was asked
// for, and an error naming the variable when an environment value cannot
// be parsed.
func ParseConfig(name, defaultAddr string, args []string, getenv func(string) string, output io.Writer) (Config, error) {
	cfg := Config{
		Addr:            defaultAddr,
		DSN:             DefaultDSN,
		Lifetime:        DefaultLifetime,
		CleanupInterval: DefaultCleanupInterval,
		FreshAge:        DefaultFreshAge,
	}
	var errs []error
	envString := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	envBool := func(dst *bool, key string) {
		if v := getenv(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s=%q: want true or false", key, v))
			}
			*dst = b
		}
	}
	envInt := func(dst *int, key string) {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s=%q: want a whole number", key, v))
			}
			*dst = n
		}
	}
	envDuration := func(dst *time.Duration, key string) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s=%q: want a Go duration such as 336h or 30m", key, v))
			}
			*dst = d
		}
	}
	envString(&cfg.Addr, "ADDR")
	envString(&cfg.DSN, "DATABASE_URL")
	envInt(&cfg.DBMaxConns, "DB_MAX_CONNS")
	envBool(&cfg.SecureCookie, "SECURE_COOKIE")
	envDuration(&cfg.Lifetime, "SESSION_LIFETIME")
	envDuration(&cfg.IdleTimeout, "SESSION_IDLE_TIMEOUT")
	envDuration(&cfg.CleanupInterval, "SESSION_CLEANUP_INTERVAL")
	envInt(&cfg.MaxSessions, "SESSION_MAX_PER_USER")
	envDuration(&cfg.FreshAge, "SESSION_FRESH_AGE")
	tokenKeys := getenv("SESSION_TOKEN_KEY")
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen `address` (env ADDR)")
	fs.StringVar(&cfg.DSN, "dsn", cfg.DSN, "database: a postgres:// URL, or else an SQLite file `path` (env DATABASE_URL)")
	fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, fmt.Sprintf("most database connections, the invalidation listener's included; 0 is %d on PostgreSQL, %d on SQLite (env DB_MAX_CONNS)",
		dbopen.DefaultPostgresMaxConns, dbopen.DefaultSQLiteMaxConns))
	fs.BoolVar(&cfg.SecureCookie, "secure-cookie", cfg.SecureCookie, "set the session cookie's Secure flag; turn it on behind HTTPS (env SECURE_COOKIE)")
	fs.DurationVar(&cfg.Lifetime, "lifetime", cfg.Lifetime, "absolute session lifetime (env SESSION_LIFETIME)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "end sessions unused this long; 0 is off (env SESSION_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.CleanupInterval, "cleanup-interval", cfg.CleanupInterval, "delete expired sessions this often; 0 is off (env SESSION_CLEANUP_INTERVAL)")
	fs.IntVar(&cfg.MaxSessions, "max-sessions", cfg.MaxSessions, "most live sessions of one user: a login past it ends the user's least recently seen session; 0 is no cap (env SESSION_MAX_PER_USER)")
	fs.DurationVar(&cfg.FreshAge, "fresh-age", cfg.FreshAge, "how recent a login must be for POST /sensitive (env SESSION_FRESH_AGE)")
	fs.StringVar(&tokenKeys, "token-key", tokenKeys, fmt.Sprintf("base64 `secrets` of at least %d bytes that tag session tokens, comma-separated, the first signing; default: the key kept in the database (env SESSION_TOKEN_KEY)", storage.MinTokenKeyBytes))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\nA hybridsession example app. Flags:\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.TokenKeys, err = parseTokenKeys(tokenKeys); err != nil {
		return Config{}, err
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseTokenKeys reads comma-separated base64 secrets, in the standard or
// the URL alphabet, padded or not.
func parseTokenKeys(s string) ([][]byte, error) {
	if s == "" {
		return nil, nil
	}
	var keys [][]byte
	for i, field := range strings.Split(s, ",") {
		field = strings.TrimRight(strings.TrimSpace(field), "=")
		key, err := base64.RawStdEncoding.DecodeString(field)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(field)
		}
		switch {
		case err != nil:
			return nil, fmt.Errorf("token key %d (-token-key, SESSION_TOKEN_KEY) is not base64", i+1)
		case len(key) < storage.MinTokenKeyBytes:
			return nil, fmt.Errorf("token key %d (-token-key, SESSION_TOKEN_KEY) is %d bytes; it must be at least %d (openssl rand -base64 32)", i+1, len(key), storage.MinTokenKeyBytes)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// validate checks what the flag package cannot.
func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("the listen address (-addr, ADDR) is empty")
	case c.DSN == "":
		return errors.New("the database (-dsn, DATABASE_URL) is empty")
	case c.DBMaxConns < 0:
		return fmt.Errorf("the database connection bound (-db-max-conns, DB_MAX_CONNS) is %d; it must be 0 (the default) or positive", c.DBMaxConns)
	case c.DBMaxConns == 1 && dbopen.IsPostgres(c.DSN):
		return errors.New("the database connection bound (-db-max-conns, DB_MAX_CONNS) is 1; on PostgreSQL it must be at least 2, as the invalidation listener holds one")
	case c.Lifetime < time.Second:
		return fmt.Errorf("the session lifetime (-lifetime, SESSION_LIFETIME) is %v; it must be at least 1s", c.Lifetime)
	case c.IdleTimeout < 0:
		return fmt.Errorf("the idle timeout (-idle-timeout, SESSION_IDLE_TIMEOUT) is %v; it must be 0 (off) or positive", c.IdleTimeout)
	case c.CleanupInterval < 0:
		return fmt.Errorf("the cleanup interval (-cleanup-interval, SESSION_CLEANUP_INTERVAL) is %v; it must be 0 (off) or positive", c.CleanupInterval)
	case c.MaxSessions < 0:
		return fmt.Errorf("the session cap (-max-sessions, SESSION_MAX_PER_USER) is %d; it must be 0 (no cap) or positive", c.MaxSessions)
	case c.FreshAge <= 0:
		return fmt.Errorf("the fresh login age (-fresh-age, SESSION_FRESH_AGE) is %v; it must be positive", c.FreshAge)
	}
	return nil
}

// DBOptions is the connection pool c asks for.
func (c Config) DBOptions() dbopen.Options {
	return dbopen.Options{MaxConns: c.DBMaxConns}
}

// ManagerConfig is the session manager configuration c asks for; the rest
// is core's defaults (cookie "session", HttpOnly, SameSite=Lax).
func (c Config) ManagerConfig() core.Config {
	return core.Config{
		CookieSecure: c.SecureCookie,
		Lifetime:     c.Lifetime,
		IdleTimeout:  c.IdleTimeout,
		TokenKeys:    c.TokenKeys,
		// A login past the cap ends the user's least recently seen
		// session: core.CapEndLeastRecent, the default policy.
		MaxSessionsPerUser: c.MaxSessions,
	}
}
