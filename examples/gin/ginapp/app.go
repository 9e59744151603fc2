// Package ginapp is the Gin example app: the routes of the HTTP contract in
// examples/README.md, written as a Gin app uses hybridsession.
//
// ginsession.Middleware gives every request its session, which a handler
// takes with ginsession.From(c) and changes: Login, Set, core.Modify,
// Destroy, LogoutEverywhere; the user's sessions are listed and ended with
// UserSessions, Revoke and RevokeOthers, and ginsession.RequireFresh guards
// a route that needs a recent login. The handler then answers as usual
// (c.JSON, c.Redirect); the middleware commits the session before the
// response goes out. fail shows how an error becomes an answer: a client
// error with its own status, a session error with the status
// core.StatusCode gives, and Retry-After on a 503 (core.SetRetryAfter).
//
// The framework-free parts that the Echo app shares come from package
// demo: the session value names, the input rules (demo.ReadLogin reads a
// JSON or form body under the contract's limits and messages, where a
// JSON-only app would use c.ShouldBindJSON), the JSON bodies and the page.
package ginapp

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/ginsession"
)

// getHead are the methods of each read route, so that a HEAD is answered
// as its GET is: the same handlers run, session middleware included, and
// set the same status, headers and cookies; the net/http server sends
// none of the body they write.
var getHead = []string{http.MethodGet, http.MethodHead}

// New returns the app's handler, keeping sessions with m; POST /sensitive
// needs a login at most freshAge old. Gin runs in release mode unless
// GIN_MODE says otherwise.
func New(m *core.Manager, freshAge time.Duration) http.Handler {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(gin.Recovery(), ginsession.Middleware(m))
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound) })
	r.NoMethod(func(c *gin.Context) { abort(c, http.StatusMethodNotAllowed) })

	r.Match(getHead, "/", page)
	r.Match(getHead, "/healthz", health(m))
	r.POST("/login", login)
	r.Match(getHead, "/me", loggedIn, me)
	r.Match(getHead, "/counter", counter)
	r.POST("/counter", increment)
	r.POST("/logout", logout)
	r.POST("/logout-all", loggedIn, logoutAll)
	r.POST("/logout-others", loggedIn, logoutOthers)
	r.Match(getHead, "/sessions", loggedIn, sessions)
	r.DELETE("/sessions/:id", loggedIn, revoke)
	r.POST("/sessions/:id/revoke", loggedIn, revoke) // the page's form
	r.POST("/sensitive", ginsession.RequireFresh(freshAge), sensitive)
	r.Match(getHead, "/prefs", prefs)
	r.POST("/prefs", setPrefForm)
	r.PUT("/prefs/:key", setPref)
	return r
}

// loggedIn lets only a logged-in session through to the route's handler;
// any other is answered 401.
func loggedIn(c *gin.Context) {
	if ginsession.From(c).UserID() == "" {
		fail(c, demo.ErrNotLoggedIn)
		c.Abort()
	}
}

// page is GET /: the HTML page of the session, which consumes its flash
// messages.
func page(c *gin.Context) {
	html, err := demo.RenderPage(c.Request.Context(), c.Request.Host, ginsession.From(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, demo.HTMLContentType, html)
}

// health is GET /healthz: 200 when the session store answers, else 503.
// The cause is logged, not shown.
func health(m *core.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := m.Ping(c.Request.Context()); err != nil {
			slog.ErrorContext(c.Request.Context(), "health check failed", "error", err)
			core.SetRetryAfter(c.Writer.Header(), http.StatusServiceUnavailable)
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, demo.ErrorBody{Error: demo.StoreUnreachable})
			return
		}
		c.JSON(http.StatusOK, demo.StatusBody{Status: "ok"})
	}
}

// login is POST /login: Login renews the session's token and binds the
// session to the user; the cookie is persistent unless the body says
// remember: false.
func login(c *gin.Context) {
	in, err := demo.ReadLogin(c.Request)
	if err != nil {
		fail(c, err)
		return
	}
	s := ginsession.From(c)
	s.Login(in.Username)
	s.SetPersistent(in.Remember)
	reply(c, demo.UserBody{User: in.Username}, demo.LoginFlash(in.Username))
}

// me is GET /me: the user and the counter.
func me(c *gin.Context) {
	s := ginsession.From(c)
	c.JSON(http.StatusOK, demo.MeBody{User: s.UserID(), Count: core.GetOr(s, demo.CountKey, 0)})
}

// counter is GET /counter: the counter, changing nothing.
func counter(c *gin.Context) {
	c.JSON(http.StatusOK, demo.CountBody{Count: core.GetOr(ginsession.From(c), demo.CountKey, 0)})
}

// increment is POST /counter: adds one to the counter with core.Modify,
// atomically, so that parallel increments of one session, on any
// instance, all count.
func increment(c *gin.Context) {
	n, err := core.Modify(c.Request.Context(), ginsession.From(c), demo.CountKey,
		func(n int, _ bool) int { return n + 1 })
	if err != nil {
		fail(c, err)
		return
	}
	reply(c, demo.CountBody{Count: n}, demo.CountFlash(n))
}

// logout is POST /logout: destroys the session; its cookie is expired.
func logout(c *gin.Context) {
	if err := ginsession.From(c).Destroy(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	reply(c, demo.OKBody{OK: true}, demo.LogoutFlash)
}

// logoutAll is POST /logout-all: destroys every session of the user, this
// one included, and tells how many there were.
func logoutAll(c *gin.Context) {
	n, err := ginsession.From(c).LogoutEverywhere(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	reply(c, demo.RevokedBody{Revoked: n}, demo.LogoutAllFlash(n))
}

// logoutOthers is POST /logout-others: ends every other session of the
// user, keeping this one, and tells how many there were.
func logoutOthers(c *gin.Context) {
	n, err := ginsession.From(c).RevokeOthers(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	reply(c, demo.RevokedBody{Revoked: n}, demo.LogoutOthersFlash(n))
}

// sessions is GET /sessions: the user's live sessions, most recently seen
// first, this one marked current.
func sessions(c *gin.Context) {
	list, err := ginsession.From(c).UserSessions(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, demo.SessionsBody{Sessions: list})
}

// revoke is DELETE /sessions/:id, and POST /sessions/:id/revoke for the
// page: ends the user's session whose id (its public handle, not its
// token) is given; 404 when it is not a live session of this user. Ending
// this very session is a logout: its cookie is expired.
func revoke(c *gin.Context) {
	ok, err := ginsession.From(c).Revoke(c.Request.Context(), c.Param("id"))
	switch {
	case err != nil:
		fail(c, err)
	case !ok:
		fail(c, demo.ErrNoSuchSession)
	default:
		reply(c, demo.RevokedBody{Revoked: 1}, demo.RevokeFlash)
	}
}

// sensitive is POST /sensitive, an action that needs a recent login (such
// as changing a password): ginsession.RequireFresh lets it run only for a
// session logged in within the app's fresh age, and answers 401 or 403
// otherwise.
func sensitive(c *gin.Context) {
	c.JSON(http.StatusOK, demo.OKBody{OK: true})
}

// prefs is GET /prefs: every preference of the session.
func prefs(c *gin.Context) {
	c.JSON(http.StatusOK, demo.PrefsBody{Prefs: demo.Prefs(ginsession.From(c))})
}

// setPref is PUT /prefs/:key, with the value in the body.
func setPref(c *gin.Context) {
	p, err := demo.ReadPref(c.Request, c.Param("key"))
	if err != nil {
		fail(c, err)
		return
	}
	savePref(c, p)
}

// setPrefForm is POST /prefs, the page's form, with key and value in the
// body.
func setPrefForm(c *gin.Context) {
	p, err := demo.ReadPrefForm(c.Request)
	if err != nil {
		fail(c, err)
		return
	}
	savePref(c, p)
}

// savePref sets one preference, a session value of its own, and answers
// with all of them.
func savePref(c *gin.Context, p demo.Pref) {
	s := ginsession.From(c)
	s.Set(demo.PrefPrefix+p.Key, p.Value)
	reply(c, demo.PrefsBody{Prefs: demo.Prefs(s)}, demo.PrefFlash(p.Key))
}

// reply answers a success with body as JSON; a browser's form post is
// redirected to the page instead, where flash waits in the session.
func reply(c *gin.Context, body any, flash string) {
	if demo.IsBrowserForm(c.Request) {
		ginsession.From(c).AddFlash(flash)
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	c.JSON(http.StatusOK, body)
}

// fail answers err. A client error (bad input, not logged in) gets its
// status and message; for a browser's form post it becomes a flash message
// on the page instead. Any other error is the session's (or the page's):
// it gets the status core.StatusCode gives (503 when the store is
// unreachable, 413 when the session would be too large, else 500), with
// Retry-After on a 503, and only its status text; the error is logged.
func fail(c *gin.Context, err error) {
	var bad *demo.ClientError
	if errors.As(err, &bad) {
		if demo.IsBrowserForm(c.Request) {
			ginsession.From(c).AddFlash(demo.ErrorFlash(bad.Message))
			c.Redirect(http.StatusSeeOther, "/")
			return
		}
		c.AbortWithStatusJSON(bad.Status, demo.ErrorBody{Error: bad.Message})
		return
	}
	code := core.StatusCode(err)
	slog.ErrorContext(c.Request.Context(), "request failed",
		"method", c.Request.Method, "path", c.Request.URL.Path, "status", code, "error", err)
	core.SetRetryAfter(c.Writer.Header(), code)
	abort(c, code)
}

// abort answers with code and its status text.
func abort(c *gin.Context, code int) {
	c.AbortWithStatusJSON(code, demo.ErrorBody{Error: http.StatusText(code)})
}
