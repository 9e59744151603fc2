// Package ginapp is the Gin example app: the routes of the HTTP contract in
// examples/README.md on a Gin engine with ginsession. What the routes do lives in
// package demo, shared with the Echo app; this package only routes, takes
// the session from ginsession and renders the answer Gin's way.
package ginapp

import (
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/ginsession"
)

// New returns the app's handler, keeping sessions with m. Gin runs in
// release mode unless GIN_MODE says otherwise.
func New(m *core.Manager) http.Handler {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(gin.Recovery(), ginsession.Middleware(m))
	r.NoRoute(func(c *gin.Context) { render(c, demo.NotFound()) })
	r.NoMethod(func(c *gin.Context) { render(c, demo.MethodNotAllowed()) })

	r.GET("/", handle(demo.Page))
	r.GET("/healthz", func(c *gin.Context) { render(c, demo.Health(c.Request.Context(), m)) })
	r.POST("/login", handle(demo.Login))
	r.GET("/me", handle(demo.Me))
	r.GET("/counter", handle(demo.Counter))
	r.POST("/counter", handle(demo.Increment))
	r.POST("/logout", handle(demo.Logout))
	r.POST("/logout-all", handle(demo.LogoutAll))
	r.GET("/prefs", handle(demo.Prefs))
	r.POST("/prefs", handle(demo.SetPrefForm))
	r.PUT("/prefs/:key", func(c *gin.Context) {
		render(c, demo.SetPref(c.Request, ginsession.From(c), c.Param("key")))
	})
	return r
}

// handle adapts a route of package demo to Gin.
func handle(route func(*http.Request, *core.Session) demo.Outcome) gin.HandlerFunc {
	return func(c *gin.Context) {
		render(c, route(c.Request, ginsession.From(c)))
	}
}

// render writes o: a redirect, an error, a page or JSON.
func render(c *gin.Context, o demo.Outcome) {
	switch {
	case o.Redirect != "":
		c.Redirect(o.Status, o.Redirect)
	case o.Failed():
		core.SetRetryAfter(c.Writer.Header(), o.Status)
		c.AbortWithStatusJSON(o.Status, demo.ErrorBody{Error: o.Error})
	case o.HTML != nil:
		c.Data(o.Status, demo.HTMLContentType, o.HTML)
	default:
		c.JSON(o.Status, o.Body)
	}
}
