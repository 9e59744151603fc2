// Package echoapp is the Echo example app: the routes of the HTTP contract
// in examples/README.md, written as an Echo app uses hybridsession.
//
// echosession.Middleware gives every request its session, which a handler
// takes with echosession.From(c) and changes: Login, Set, core.Modify,
// Destroy, LogoutEverywhere; the user's sessions are listed and ended with
// UserSessions, Revoke and RevokeOthers, and echosession.RequireFresh
// guards a route that needs a recent login. The handler then answers as
// usual (c.JSON, c.Redirect) or returns an error; the middleware commits the session
// before the response goes out. Errors are answered in one place,
// ErrorHandler: a handler returns a client error as an *echo.HTTPError
// with its status (see fail) and a session error as it is, which
// ErrorHandler answers with the status core.StatusCode gives, and
// Retry-After on a 503 (core.SetRetryAfter).
//
// The framework-free parts that the Gin app shares come from package demo:
// the session value names, the input rules (demo.ReadLogin reads a JSON or
// form body under the contract's limits and messages, where a JSON-only
// app would use c.Bind), the JSON bodies and the page.
package echoapp

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

// getHead are the methods of each read route, so that a HEAD is answered
// as its GET is: the same handler and middleware run, the session's
// included, and set the same status, headers and cookies; the net/http
// server sends none of the body they write.
var getHead = []string{http.MethodGet, http.MethodHead}

// New returns the app's handler, keeping sessions with m; POST /sensitive
// needs a login at most freshAge old.
func New(m *core.Manager, freshAge time.Duration) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler
	e.Use(middleware.Recover(), echosession.Middleware(m))

	e.Match(getHead, "/", page)
	e.Match(getHead, "/healthz", health(m))
	e.POST("/login", login)
	e.Match(getHead, "/me", me, loggedIn)
	e.Match(getHead, "/counter", counter)
	e.POST("/counter", increment)
	e.POST("/logout", logout)
	e.POST("/logout-all", logoutAll, loggedIn)
	e.POST("/logout-others", logoutOthers, loggedIn)
	e.Match(getHead, "/sessions", sessions, loggedIn)
	e.DELETE("/sessions/:id", revoke, loggedIn)
	e.POST("/sessions/:id/revoke", revoke, loggedIn) // the page's form
	e.POST("/sensitive", sensitive, echosession.RequireFresh(freshAge))
	e.Match(getHead, "/prefs", prefs)
	e.POST("/prefs", setPrefForm)
	e.PUT("/prefs/:key", setPref)
	return e
}

// loggedIn lets only a logged-in session through to the route's handler;
// any other is answered 401.
func loggedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if echosession.From(c).UserID() == "" {
			return fail(c, demo.ErrNotLoggedIn)
		}
		return next(c)
	}
}

// page is GET /: the HTML page of the session, which consumes its flash
// messages.
func page(c echo.Context) error {
	html, err := demo.RenderPage(c.Request().Context(), c.Request().Host, echosession.From(c))
	if err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, html)
}

// health is GET /healthz: 200 when the session store answers, else 503.
// The cause is logged, not shown.
func health(m *core.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := m.Ping(c.Request().Context()); err != nil {
			slog.ErrorContext(c.Request().Context(), "health check failed", "error", err)
			return echo.NewHTTPError(http.StatusServiceUnavailable, demo.StoreUnreachable)
		}
		return c.JSON(http.StatusOK, demo.StatusBody{Status: "ok"})
	}
}

// login is POST /login: Login renews the session's token and binds the
// session to the user; the cookie is persistent unless the body says
// remember: false.
func login(c echo.Context) error {
	in, err := demo.ReadLogin(c.Request())
	if err != nil {
		return fail(c, err)
	}
	s := echosession.From(c)
	s.Login(in.Username)
	s.SetPersistent(in.Remember)
	return reply(c, demo.UserBody{User: in.Username}, demo.LoginFlash(in.Username))
}

// me is GET /me: the user and the counter.
func me(c echo.Context) error {
	s := echosession.From(c)
	return c.JSON(http.StatusOK, demo.MeBody{User: s.UserID(), Count: core.GetOr(s, demo.CountKey, 0)})
}

// counter is GET /counter: the counter, changing nothing.
func counter(c echo.Context) error {
	return c.JSON(http.StatusOK, demo.CountBody{Count: core.GetOr(echosession.From(c), demo.CountKey, 0)})
}

// increment is POST /counter: adds one to the counter with core.Modify,
// atomically, so that parallel increments of one session, on any
// instance, all count.
func increment(c echo.Context) error {
	n, err := core.Modify(c.Request().Context(), echosession.From(c), demo.CountKey,
		func(n int, _ bool) int { return n + 1 })
	if err != nil {
		return err // a session error: ErrorHandler answers it
	}
	return reply(c, demo.CountBody{Count: n}, demo.CountFlash(n))
}

// logout is POST /logout: destroys the session; its cookie is expired.
func logout(c echo.Context) error {
	if err := echosession.From(c).Destroy(c.Request().Context()); err != nil {
		return err
	}
	return reply(c, demo.OKBody{OK: true}, demo.LogoutFlash)
}

// logoutAll is POST /logout-all: destroys every session of the user, this
// one included, and tells how many there were.
func logoutAll(c echo.Context) error {
	n, err := echosession.From(c).LogoutEverywhere(c.Request().Context())
	if err != nil {
		return err
	}
	return reply(c, demo.RevokedBody{Revoked: n}, demo.LogoutAllFlash(n))
}

// logoutOthers is POST /logout-others: ends every other session of the
// user, keeping this one, and tells how many there were.
func logoutOthers(c echo.Context) error {
	n, err := echosession.From(c).RevokeOthers(c.Request().Context())
	if err != nil {
		return err
	}
	return reply(c, demo.RevokedBody{Revoked: n}, demo.LogoutOthersFlash(n))
}

// sessions is GET /sessions: the user's live sessions, most recently seen
// first, this one marked current.
func sessions(c echo.Context) error {
	list, err := echosession.From(c).UserSessions(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, demo.SessionsBody{Sessions: list})
}

// revoke is DELETE /sessions/:id, and POST /sessions/:id/revoke for the
// page: ends the user's session whose id (its public handle, not its
// token) is given; 404 when it is not a live session of this user. Ending
// this very session is a logout: its cookie is expired.
func revoke(c echo.Context) error {
	ok, err := echosession.From(c).Revoke(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if !ok {
		return fail(c, demo.ErrNoSuchSession)
	}
	return reply(c, demo.RevokedBody{Revoked: 1}, demo.RevokeFlash)
}

// sensitive is POST /sensitive, an action that needs a recent login (such
// as changing a password): echosession.RequireFresh lets it run only for a
// session logged in within the app's fresh age, and returns a 401 or 403
// otherwise.
func sensitive(c echo.Context) error {
	return c.JSON(http.StatusOK, demo.OKBody{OK: true})
}

// prefs is GET /prefs: every preference of the session.
func prefs(c echo.Context) error {
	return c.JSON(http.StatusOK, demo.PrefsBody{Prefs: demo.Prefs(echosession.From(c))})
}

// setPref is PUT /prefs/:key, with the value in the body.
func setPref(c echo.Context) error {
	p, err := demo.ReadPref(c.Request(), c.Param("key"))
	if err != nil {
		return fail(c, err)
	}
	return savePref(c, p)
}

// setPrefForm is POST /prefs, the page's form, with key and value in the
// body.
func setPrefForm(c echo.Context) error {
	p, err := demo.ReadPrefForm(c.Request())
	if err != nil {
		return fail(c, err)
	}
	return savePref(c, p)
}

// savePref sets one preference, a session value of its own, and answers
// with all of them.
func savePref(c echo.Context, p demo.Pref) error {
	s := echosession.From(c)
	s.Set(demo.PrefPrefix+p.Key, p.Value)
	return reply(c, demo.PrefsBody{Prefs: demo.Prefs(s)}, demo.PrefFlash(p.Key))
}

// reply answers a success with body as JSON; a browser's form post is
// redirected to the page instead, where flash waits in the session.
func reply(c echo.Context, body any, flash string) error {
	if demo.IsBrowserForm(c.Request()) {
		echosession.From(c).AddFlash(flash)
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return c.JSON(http.StatusOK, body)
}

// fail answers a client error (bad input, not logged in): an
// *echo.HTTPError with its status and message, for ErrorHandler to write;
// for a browser's form post, a flash message on the page instead. Any
// other error is returned as it is.
func fail(c echo.Context, err error) error {
	var bad *demo.ClientError
	if !errors.As(err, &bad) {
		return err
	}
	if demo.IsBrowserForm(c.Request()) {
		echosession.From(c).AddFlash(demo.ErrorFlash(bad.Message))
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return echo.NewHTTPError(bad.Status, bad.Message)
}

// ErrorHandler is the app's echo.HTTPErrorHandler: every error, Echo's own
// 404 and 405 and a failed session commit included, is answered with JSON
// {"error": "..."}. An *echo.HTTPError gets its status and shows its
// message when that is a string; any other error, such as one of the
// session's, gets the status core.StatusCode gives (503 when the store is
// unreachable, 413 when the session would be too large, else 500) and
// shows its status text alone. A 503 gets Retry-After. A server error is
// logged, unless it is an *echo.HTTPError without an internal error, which
// the handler that returned it has logged if it had to.
func ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg, logged := core.StatusCode(err), "", false
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg, _ = he.Message.(string)
		if he.Internal != nil {
			err = he.Internal
		} else {
			logged = true
		}
	}
	if code >= http.StatusInternalServerError && !logged {
		slog.ErrorContext(c.Request().Context(), "request failed",
			"method", c.Request().Method, "path", c.Request().URL.Path, "status", code, "error", err)
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	core.SetRetryAfter(c.Response().Header(), code)
	// A HEAD gets the JSON too, unlike in Echo's own error handler: the
	// same Content-Type as its GET, and the server drops the body.
	if werr := c.JSON(code, demo.ErrorBody{Error: msg}); werr != nil {
		slog.ErrorContext(c.Request().Context(), "writing error response", "error", werr)
	}
}
