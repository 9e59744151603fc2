package echosession

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/adapter"
)

// Config configures the middleware. The zero value of every field but
// Manager means its documented default.
type Config struct {
	// Skipper selects requests that pass through without a session; From
	// panics in their handlers. Default: middleware.DefaultSkipper (none).
	Skipper middleware.Skipper
	// Manager loads and commits the sessions. Required.
	Manager *core.Manager
	// ErrorHandler turns an error loading or committing the session into
	// the error the middleware gives Echo's HTTPErrorHandler, as
	// echo-jwt's does. Default: DefaultErrorHandler.
	ErrorHandler func(c echo.Context, err error) error
}

// Middleware returns a middleware that keeps the sessions of m. It panics
// if m is nil.
func Middleware(m *core.Manager) echo.MiddlewareFunc {
	return MiddlewareWithConfig(Config{Manager: m})
}

// MiddlewareWithConfig returns a middleware configured by cfg. It panics
// if cfg is invalid; ToMiddleware returns the error instead.
func MiddlewareWithConfig(cfg Config) echo.MiddlewareFunc {
	mw, err := cfg.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

// ToMiddleware checks cfg and returns the middleware it describes.
//
// The middleware puts the session into the request's context (see From)
// and wraps c.Response().Writer in a writer that commits the session just
// before the headers go out. When the handler returns an error, the
// middleware returns it unchanged; Echo's HTTPErrorHandler then writes the
// error response through that writer, which commits the session with the
// error's status (a 5xx saves nothing). When the handler returns nil
// without writing, the middleware commits the session itself. A commit
// that fails reaches the HTTPErrorHandler as cfg.ErrorHandler returns it:
// by default an *echo.HTTPError with the status core.StatusCode gives, the
// status text as its message and the commit error as its Internal error,
// and a Retry-After header on a 503.
//
// The error response of a failed commit is written straight into the
// writer the middleware wrapped (res.Writer is pointed at it while Echo's
// HTTPErrorHandler renders), neither back through the committing writer
// nor through any writer an inner middleware put in front of it (such as
// middleware.Gzip's, which holds the status back until the body comes),
// so it replaces the handler's response in either order. The committing
// writer then drops the handler's writes with adapter.ErrResponseReplaced.
//
// The wrapped writer stays in place after the middleware returns, so that
// the response to an error the handler returned goes through it and
// commits the session. Register this middleware outside (before)
// middlewares that swap the writer and put it back when the chain
// returns, such as middleware.Gzip: an error response written after they
// have restored the writer would bypass the commit.
func (cfg Config) ToMiddleware() (echo.MiddlewareFunc, error) {
	if cfg.Manager == nil {
		return nil, errors.New("echosession: Config.Manager is nil; pass the *core.Manager returned by core.NewManager")
	}
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = DefaultErrorHandler
	}
	m, skip, httpError := cfg.Manager, cfg.Skipper, cfg.ErrorHandler
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			s, r := m.Begin(c.Request())
			c.SetRequest(r)
			res := c.Response()
			inner := res.Writer
			// A commit that fails during a write renders the error on the
			// inner writer. The response is marked uncommitted for that: a
			// writer that holds the handler's status back until the body
			// comes (middleware.Gzip's) reaches the guard only after Echo
			// has marked the response committed, and Echo's
			// DefaultHTTPErrorHandler would then render nothing, leaving
			// the client a 200 with an empty body. The chain then gets its
			// writer back, and the guard drops what reaches it.
			g := adapter.NewGuard(s, func(err error) {
				prev := res.Writer
				res.Writer, res.Committed = inner, false
				c.Error(httpError(c, err))
				res.Writer = prev
			})
			res.Writer = adapter.WrapWriter(inner, g)
			if err := next(c); err != nil {
				return err
			}
			if res.Committed {
				return nil
			}
			if err := g.Finish(res.Header(), res.Status); err != nil {
				res.Writer = inner // Echo renders the error there
				return httpError(c, err)
			}
			return nil
		}
	}, nil
}

// DefaultErrorHandler turns a session error into the HTTP error Echo
// renders: the status core.StatusCode gives, its status text as the
// message and err as its Internal error, with Retry-After on a 503.
func DefaultErrorHandler(c echo.Context, err error) error {
	code := core.StatusCode(err)
	core.SetRetryAfter(c.Response().Header(), code)
	return echo.NewHTTPError(code, http.StatusText(code)).WithInternal(err)
}

// From returns the session of the request. It panics when the request did
// not pass through Middleware or was skipped, a programming error.
func From(c echo.Context) *core.Session {
	s, ok := core.FromContext(c.Request().Context())
	if !ok {
		panic("echosession: no session in request; add echosession.Middleware(m) before this handler")
	}
	return s
}

// RequireFresh returns a middleware that lets a request through only when
// its session logged in within maxAge (core.CheckFresh); otherwise it
// returns an *echo.HTTPError of 401 "not logged in" or 403
// "reauthentication required", or as DefaultErrorHandler when the session
// cannot be loaded. It goes after Middleware. Config.RequireFresh answers
// through a Config's ErrorHandler instead.
func RequireFresh(maxAge time.Duration) echo.MiddlewareFunc { return Config{}.RequireFresh(maxAge) }

// RequireFresh is the package's RequireFresh answering through
// cfg.ErrorHandler, when it is set, for every error of core.CheckFresh.
func (cfg Config) RequireFresh(maxAge time.Duration) echo.MiddlewareFunc {
	onError := cfg.ErrorHandler
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch err := core.CheckFresh(From(c), maxAge); {
			case err == nil:
				return next(c)
			case onError != nil:
				return onError(c, err)
			case errors.Is(err, core.ErrNotLoggedIn), errors.Is(err, core.ErrNotFresh):
				return echo.NewHTTPError(core.StatusCode(err), err.Error()).WithInternal(err)
			default:
				return DefaultErrorHandler(c, err)
			}
		}
	}
}
