// Package echoapp is the Echo example app: the routes of the HTTP contract
// in examples/README.md on an Echo server with echosession. What the routes do
// lives in package demo, shared with the Gin app; this package only
// routes, takes the session from echosession and renders the answer Echo's
// way, errors included: handlers return them and ErrorHandler writes them.
package echoapp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

// New returns the app's handler, keeping sessions with m.
func New(m *core.Manager) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler
	e.Use(middleware.Recover(), echosession.Middleware(m))

	e.GET("/", handle(demo.Page))
	e.GET("/healthz", func(c echo.Context) error { return render(c, demo.Health(c.Request().Context(), m)) })
	e.POST("/login", handle(demo.Login))
	e.GET("/me", handle(demo.Me))
	e.GET("/counter", handle(demo.Counter))
	e.POST("/counter", handle(demo.Increment))
	e.POST("/logout", handle(demo.Logout))
	e.POST("/logout-all", handle(demo.LogoutAll))
	e.GET("/prefs", handle(demo.Prefs))
	e.POST("/prefs", handle(demo.SetPrefForm))
	e.PUT("/prefs/:key", func(c echo.Context) error {
		return render(c, demo.SetPref(c.Request(), echosession.From(c), c.Param("key")))
	})
	return e
}

// handle adapts a route of package demo to Echo.
func handle(route func(*http.Request, *core.Session) demo.Outcome) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, route(c.Request(), echosession.From(c)))
	}
}

// render writes o: a redirect, a page or JSON; an error is returned for
// ErrorHandler to write.
func render(c echo.Context, o demo.Outcome) error {
	switch {
	case o.Redirect != "":
		return c.Redirect(o.Status, o.Redirect)
	case o.Failed():
		return echo.NewHTTPError(o.Status, o.Error)
	case o.HTML != nil:
		return c.HTMLBlob(o.Status, o.HTML)
	default:
		return c.JSON(o.Status, o.Body)
	}
}

// ErrorHandler is the app's echo.HTTPErrorHandler: every error, Echo's own
// 404 and 405 and a failed session commit included, is answered with JSON
// {"error": "..."}. An *echo.HTTPError shows its message when that is a
// string; any other error is logged and shown as its status text alone.
func ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg, logged := http.StatusInternalServerError, "", false
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg, _ = he.Message.(string)
		if he.Internal != nil {
			err = he.Internal
		} else {
			logged = true // an answer of the app's routes, logged by package demo
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
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(code)
	} else {
		werr = c.JSON(code, demo.ErrorBody{Error: msg})
	}
	if werr != nil {
		slog.ErrorContext(c.Request().Context(), "writing error response", "error", werr)
	}
}
