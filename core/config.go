package core

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// Config configures a Manager. It is passed by value and checked by
// NewManager; the zero value gives the documented defaults.
type Config struct {
	// CookieName is the name of the session cookie. Default: "session".
	CookieName string
	// CookieDomain is the cookie's Domain attribute. Default: none (host only).
	CookieDomain string
	// CookiePath is the cookie's Path attribute. Default: "/".
	CookiePath string
	// CookieSecure sets the cookie's Secure attribute; turn it on whenever
	// the site is served over HTTPS. Default: false.
	CookieSecure bool
	// CookieSameSite is the cookie's SameSite attribute. SameSite=None
	// requires CookieSecure. Default: http.SameSiteLaxMode.
	CookieSameSite http.SameSite
	// CookiePartitioned sets the cookie's Partitioned attribute (CHIPS); it
	// requires CookieSecure. Default: false.
	CookiePartitioned bool
	// BrowserSessionCookies makes cookies last only as long as the browser
	// session (no Max-Age) unless a session asks to be remembered with
	// SetPersistent(true). The server side expires sessions either way.
	// Default: false (cookies persist until the session's absolute expiry).
	BrowserSessionCookies bool

	// Lifetime is the absolute lifetime of a session, counted from its
	// creation or from the last Login. Renewal never extends it.
	// Default: 14 days.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for this long.
	// Zero means no idle timeout.
	IdleTimeout time.Duration
	// IdleRefreshInterval is how stale the idle expiry may get before a read
	// refreshes it: a request writes the new expiry (and only the expiry) at
	// most once per interval. Default: IdleTimeout / 10.
	IdleRefreshInterval time.Duration
	// SaveEveryRequest saves the session on every request that runs
	// through the middleware, even when nothing changed. Default: false
	// (saved only when modified).
	SaveEveryRequest bool

	// TokenKeys are the secrets that tag session tokens, each at least
	// MinTokenKeyBytes long: the first tags new tokens, all of them verify
	// (see docs/security.md for rotation). Every instance serving the same
	// sessions needs the same keys. Default: the keys the store keeps
	// (KeyStore), shared by every instance on the same database.
	TokenKeys [][]byte
	// TokenKeyRefresh is how often the keys a KeyStore keeps are read
	// again, so that a key added or retired reaches every instance.
	// Default: one minute.
	TokenKeyRefresh time.Duration

	// Codec encodes session values. Default: JSONCodec.
	Codec Codec
	// MaxDataSize caps the encoded size of one session's values, in bytes;
	// a save over it fails with ErrTooLarge. Default: 64 KiB.
	MaxDataSize int
	// StoreTimeout bounds every store call. Negative means no bound beyond
	// the request's own context. Default: 5 seconds.
	StoreTimeout time.Duration

	// Cache configures the in-process cache in front of the store.
	Cache CacheOptions

	// MaxSessionsPerUser caps the live sessions of one user; a login past
	// it is handled by SessionCapPolicy. Zero means no cap.
	MaxSessionsPerUser int
	// SessionCapPolicy is what a login past MaxSessionsPerUser does.
	// Default: CapEndLeastRecent.
	SessionCapPolicy CapPolicy
	// ClientIP gives the client address kept with a session at creation
	// and login. Default: RemoteIP, the direct peer; behind a reverse
	// proxy, read the header your proxy sets (see docs/devices.md).
	ClientIP func(*http.Request) string
	// IPHashKey, when set, makes sessions keep a keyed hash of the
	// client's address (HMAC-SHA-256, 32 hex digits) instead of the
	// address: enough to tell two sessions' networks apart, not to locate
	// anyone.
	IPHashKey []byte
	// Hooks are called after session events (see Hooks).
	Hooks Hooks

	// Logger receives the manager's logs (corrupt data, failed refreshes).
	// Tokens are never logged. Default: slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes the response when the session cannot be loaded or
	// committed in the plain net/http middleware. Default: a plain-text
	// error with the status from StatusCode.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Defaults of Config.
const (
	defaultCookieName   = "session"
	defaultLifetime     = 14 * 24 * time.Hour
	defaultMaxDataSize  = 64 << 10
	defaultStoreTimeout = 5 * time.Second
	defaultKeyRefresh   = time.Minute
)

// withDefaults fills in the zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	if c.CookieName == "" {
		c.CookieName = defaultCookieName
	}
	if !validCookieName(c.CookieName) {
		return c, fmt.Errorf("core: invalid cookie name %q", c.CookieName)
	}
	if c.CookiePath == "" {
		c.CookiePath = "/"
	}
	if err := c.checkCookiePrefix(); err != nil {
		return c, err
	}
	if c.CookieSameSite == 0 || c.CookieSameSite == http.SameSiteDefaultMode {
		c.CookieSameSite = http.SameSiteLaxMode
	}
	if c.CookieSameSite == http.SameSiteNoneMode && !c.CookieSecure {
		return c, fmt.Errorf("core: SameSite=None cookies must be Secure; set CookieSecure")
	}
	if c.CookiePartitioned && !c.CookieSecure {
		return c, fmt.Errorf("core: Partitioned cookies must be Secure; set CookieSecure")
	}
	if c.Lifetime == 0 {
		c.Lifetime = defaultLifetime
	}
	if c.Lifetime < time.Second {
		return c, fmt.Errorf("core: Lifetime %v is shorter than a second", c.Lifetime)
	}
	if c.IdleTimeout < 0 {
		return c, fmt.Errorf("core: negative IdleTimeout %v", c.IdleTimeout)
	}
	if c.IdleRefreshInterval == 0 {
		c.IdleRefreshInterval = c.IdleTimeout / 10
	}
	if c.IdleRefreshInterval < 0 || (c.IdleTimeout > 0 && c.IdleRefreshInterval >= c.IdleTimeout) {
		return c, fmt.Errorf("core: IdleRefreshInterval %v must be between 0 and IdleTimeout %v", c.IdleRefreshInterval, c.IdleTimeout)
	}
	if c.TokenKeyRefresh == 0 {
		c.TokenKeyRefresh = defaultKeyRefresh
	}
	if c.TokenKeyRefresh < 0 {
		return c, fmt.Errorf("core: negative TokenKeyRefresh %v", c.TokenKeyRefresh)
	}
	for i, k := range c.TokenKeys {
		if len(k) < storage.MinTokenKeyBytes {
			return c, fmt.Errorf("core: TokenKeys[%d] is %d bytes; a token key takes at least %d", i, len(k), storage.MinTokenKeyBytes)
		}
	}
	if c.MaxSessionsPerUser < 0 {
		return c, fmt.Errorf("core: negative MaxSessionsPerUser %d", c.MaxSessionsPerUser)
	}
	if c.ClientIP == nil {
		c.ClientIP = RemoteIP
	}
	if c.Codec == nil {
		c.Codec = JSONCodec{}
	}
	if c.MaxDataSize == 0 {
		c.MaxDataSize = defaultMaxDataSize
	}
	if c.MaxDataSize < 0 {
		return c, fmt.Errorf("core: negative MaxDataSize %d", c.MaxDataSize)
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = defaultStoreTimeout
	}
	var err error
	if c.Cache, err = c.Cache.withDefaults(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = DefaultErrorHandler
	}
	return c, nil
}

// checkCookiePrefix enforces the rules browsers apply to cookie names with
// a prefix (RFC 6265bis 4.1.3): a "__Secure-" cookie must be Secure; a
// "__Host-" cookie must be Secure, on Path "/" and without a Domain, so
// that no sibling subdomain and no other path can set or shadow it.
func (c Config) checkCookiePrefix() error {
	host := strings.HasPrefix(strings.ToLower(c.CookieName), "__host-")
	if !host && !strings.HasPrefix(strings.ToLower(c.CookieName), "__secure-") {
		return nil
	}
	switch {
	case !c.CookieSecure:
		return fmt.Errorf("core: a cookie named %q must be Secure; set CookieSecure", c.CookieName)
	case host && c.CookieDomain != "":
		return fmt.Errorf("core: a cookie named %q must have no Domain; CookieDomain is %q", c.CookieName, c.CookieDomain)
	case host && c.CookiePath != "/":
		return fmt.Errorf("core: a cookie named %q must have Path \"/\"; CookiePath is %q", c.CookieName, c.CookiePath)
	}
	return nil
}

// DefaultErrorHandler answers with the status StatusCode gives for err and
// its status text (and Retry-After on a 503); the error itself is not shown
// to the client.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := StatusCode(err)
	SetRetryAfter(w.Header(), code)
	http.Error(w, http.StatusText(code), code)
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || (c < 0x80 && isSeparator(c)) {
			return false
		}
	}
	return name != ""
}

func isSeparator(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}
