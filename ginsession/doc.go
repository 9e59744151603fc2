// Package ginsession plugs hybridsession into Gin: a middleware that gives
// every request a lazily loaded *core.Session and commits it just before
// the response headers are written.
//
//	r.Use(ginsession.Middleware(m))
//	s := ginsession.From(c) // in a handler: s.Set("count", n+1)
//
// A session that a handler never touches costs no store access and sets no
// cookie. Handlers need not call Save: the session is saved (when modified)
// and its cookie set whichever way the handler answers, including when it
// writes nothing at all. When the session cannot be loaded or committed,
// Config.ErrorHandler answers instead of the handler, and the handler's
// later writes are dropped.
package ginsession
