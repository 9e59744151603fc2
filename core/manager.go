package core

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"

	"github.com/hybridsession/hybridsession/core/adapter"
)

// Manager loads, tracks and commits the sessions of HTTP requests. It is
// safe for concurrent use; make one per application and share it.
type Manager struct {
	cfg     Config
	store   storage.Store              // the cache when there is one, else the store itself
	durable storage.Store              // the store itself, for settling unknown outcomes
	cache   *cache                     // nil when disabled
	source  storage.InvalidationSource // nil unless the cache must follow a shared store
	queue   commitQueue                // the writes of each session, in turn
	bg      background                 // Start's goroutines
	keys    *keySource                 // the key ring that tags tokens
	reject  rejections                 // cookies turned away at the door
}

// NewManager returns a manager keeping sessions in store, behind an
// in-process cache unless cfg.Cache.TTL is negative. It checks cfg, does no
// I/O and starts no goroutine.
//
// When the store is shared by several processes (a SharedStore with an
// InvalidationSource, such as gormstore on PostgreSQL), the cache is not
// used until RunInvalidations is running and listening.
func NewManager(store storage.Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("core: NewManager with a nil store")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, store: store, durable: store}
	if m.keys, err = newKeySource(store, cfg, m.storeContext); err != nil {
		return nil, err
	}
	if cfg.Cache.TTL >= 0 {
		if m.cache, err = newCache(store, cfg.Cache); err != nil {
			return nil, err
		}
		m.store = m.cache
		if shared, ok := store.(storage.SharedStore); ok {
			if m.source = shared.Invalidations(); m.source != nil {
				m.cache.mode.Store(int32(waiting)) // until RunInvalidations listens
			}
		}
	}
	return m, nil
}

// Config returns the manager's configuration, with defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// PurgeCache drops every session this instance holds in memory: the next
// read of each asks the store. Other instances drop what changed on their
// own (see RunInvalidations); this is for what no change announces, such
// as a database restored from a backup.
func (m *Manager) PurgeCache() {
	if m.cache != nil {
		m.cache.Purge()
	}
}

type sessionKey struct{}

// Begin starts the session of a request: it keeps the request's cookies
// but reads them, and touches the store or the cache, only when the
// session is first used. It returns the session and the request carrying
// it in its context. Adapters call Begin; applications use Middleware or
// an adapter.
func (m *Manager) Begin(r *http.Request) (*Session, *http.Request) {
	s := &Session{m: m, req: r, cookie: cookieState{lines: r.Header["Cookie"]}}
	s.reqCtx = sessionContext{Context: r.Context(), s: s}
	return s, r.WithContext(&s.reqCtx)
}

// sessionContext is a request context carrying its session. It lives
// inside the Session, which saves context.WithValue's allocation on every
// request.
type sessionContext struct {
	context.Context
	s *Session
}

// Value returns the session for sessionKey and asks the parent otherwise.
func (c *sessionContext) Value(key any) any {
	if _, ok := key.(sessionKey); ok {
		return c.s
	}
	return c.Context.Value(key)
}

// FromContext returns the session a middleware put into ctx.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok
}

// Middleware makes a session available to next through FromContext, and
// commits it just before the response headers are written. If the session
// cannot be loaded or committed, Config.ErrorHandler writes the response
// instead and next's later writes are dropped.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, r := m.Begin(r)
		g := adapter.NewGuard(s, func(err error) { m.cfg.ErrorHandler(w, r, err) })
		next.ServeHTTP(adapter.WrapWriter(w, g), r)
		if err := g.Finish(w.Header(), http.StatusOK); err != nil {
			m.cfg.ErrorHandler(w, r, err)
		}
	})
}

// LogoutEverywhere ends every session of userID, at once, and returns how
// many there were: "log out everywhere", for an admin or after a password
// change.
func (m *Manager) LogoutEverywhere(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	return m.destroyUser(ctx, userID, "")
}

// Ping reports whether the store answers, within Config.StoreTimeout.
func (m *Manager) Ping(ctx context.Context) error {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	if err := m.store.Ping(ctx); err != nil {
		return fmt.Errorf("core: ping store: %w", err)
	}
	return nil
}

// storeContext bounds a store call by Config.StoreTimeout.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.cfg.StoreTimeout < 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

// expiry is the effective expiry of a session with the given absolute
// deadline that is used at now.
func (m *Manager) expiry(now, deadline time.Time) time.Time {
	if m.cfg.IdleTimeout > 0 {
		if idle := now.Add(m.cfg.IdleTimeout); idle.Before(deadline) {
			return idle
		}
	}
	return deadline
}
