// Package demo is what the Gin and Echo example apps share, written once:
// their configuration (flags and environment), opening the database and the
// session manager, serving with background cleanup and graceful shutdown,
// and the behaviour of every route of the HTTP contract in examples/README.md.
//
// The routes are framework-neutral functions from a request and its
// session to an Outcome; each app only routes, takes the session from its
// adapter and renders the Outcome its framework's way:
//
//	r.POST("/counter", func(c *gin.Context) { render(c, demo.Increment(c.Request, ginsession.From(c))) })
package demo
