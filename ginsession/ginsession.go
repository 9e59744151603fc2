package ginsession

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/adapter"
)

// Config configures the middleware. The zero value of every field but
// Manager means its documented default.
type Config struct {
	// Skipper selects requests that pass through without a session; From
	// panics in their handlers. Default: none is skipped.
	Skipper func(c *gin.Context) bool
	// Manager loads and commits the sessions. Required.
	Manager *core.Manager
	// ErrorHandler answers a request whose session could not be loaded or
	// committed (the store is down, the session was destroyed by a
	// concurrent request...); what the handler wrote or writes after that
	// is dropped. It runs at most once per request, before any header went
	// out, and must write the response through c. Default:
	// DefaultErrorHandler.
	ErrorHandler func(c *gin.Context, err error)
}

// DefaultErrorHandler records err with c.Error and aborts with the status
// core.StatusCode gives for it and a JSON body {"error": "<status text>"},
// with Retry-After on a 503; the error itself is not shown to the client.
func DefaultErrorHandler(c *gin.Context, err error) {
	_ = c.Error(err)
	code := core.StatusCode(err)
	core.SetRetryAfter(c.Writer.Header(), code)
	c.AbortWithStatusJSON(code, gin.H{"error": http.StatusText(code)})
}

// Middleware returns a middleware that keeps the sessions of m, with the
// default error handler. It panics if m is nil.
func Middleware(m *core.Manager) gin.HandlerFunc {
	return MiddlewareWithConfig(Config{Manager: m})
}

// MiddlewareWithConfig returns a middleware configured by cfg. It panics
// if cfg is invalid; ToMiddleware returns the error instead.
func MiddlewareWithConfig(cfg Config) gin.HandlerFunc {
	mw, err := cfg.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

// ToMiddleware checks cfg and returns the middleware it describes.
//
// The middleware puts the session into c.Request's context (see From),
// replaces c.Writer for the rest of the chain with a writer that commits
// the session before the headers go out, and commits it after the chain
// if nothing was written. It restores the original c.Writer before it
// returns, unless a handler panicked.
//
// When a commit fails, the error handler runs with c.Writer set to the
// writer the middleware was given, so that the error response goes
// straight out and not back through the committing writer; that writer
// then drops the handler's writes with adapter.ErrResponseReplaced.
func (cfg Config) ToMiddleware() (gin.HandlerFunc, error) {
	if cfg.Manager == nil {
		return nil, errors.New("ginsession: Config.Manager is nil; pass the *core.Manager returned by core.NewManager")
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = DefaultErrorHandler
	}
	m, onError, skip := cfg.Manager, cfg.ErrorHandler, cfg.Skipper
	return func(c *gin.Context) {
		if skip != nil && skip(c) {
			c.Next()
			return
		}
		s, r := m.Begin(c.Request)
		c.Request = r
		w := &writer{ResponseWriter: c.Writer}
		// A commit that fails during a write renders on the inner writer,
		// w.ResponseWriter, then gives the chain back whatever writer it
		// had (w, or one an inner middleware put in front of it); w drops
		// what reaches it.
		w.guard = adapter.NewGuard(s, func(err error) {
			prev := c.Writer
			c.Writer = w.ResponseWriter
			onError(c, err)
			c.Writer = prev
		})
		c.Writer = w
		c.Next()
		c.Writer = w.ResponseWriter
		// Gin ends the request with WriteHeaderNow on its own writer, which
		// bypasses w: a handler that wrote nothing is committed here.
		if !w.Written() {
			if err := w.guard.Finish(w.Header(), w.Status()); err != nil {
				onError(c, err)
			}
		}
	}, nil
}

// From returns the session of the request. It panics when the request did
// not pass through Middleware, a programming error.
func From(c *gin.Context) *core.Session {
	s, ok := core.FromContext(c.Request.Context())
	if !ok {
		panic("ginsession: no session in request; add ginsession.Middleware(m) before this handler")
	}
	return s
}

// RequireFresh returns a middleware that lets a request through only when
// its session logged in within maxAge (core.CheckFresh); otherwise it
// aborts with 401 {"error": "not logged in"} or 403 {"error":
// "reauthentication required"}, or as DefaultErrorHandler when the session
// cannot be loaded. It goes after Middleware. Config.RequireFresh answers
// through a Config's ErrorHandler instead.
func RequireFresh(maxAge time.Duration) gin.HandlerFunc { return Config{}.RequireFresh(maxAge) }

// RequireFresh is the package's RequireFresh answering through
// cfg.ErrorHandler, when it is set, for every error of core.CheckFresh.
func (cfg Config) RequireFresh(maxAge time.Duration) gin.HandlerFunc {
	onError := cfg.ErrorHandler
	return func(c *gin.Context) {
		switch err := core.CheckFresh(From(c), maxAge); {
		case err == nil:
			c.Next()
		case onError != nil:
			onError(c, err)
			c.Abort()
		case errors.Is(err, core.ErrNotLoggedIn), errors.Is(err, core.ErrNotFresh):
			_ = c.Error(err)
			c.AbortWithStatusJSON(core.StatusCode(err), gin.H{"error": err.Error()})
		default:
			DefaultErrorHandler(c, err)
		}
	}
}
