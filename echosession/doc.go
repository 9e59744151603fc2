// Package echosession plugs hybridsession into Echo v4: a middleware that
// gives every request a lazily loaded *core.Session and commits it just
// before the response headers are written.
//
//	e.Use(echosession.Middleware(m))
//	s := echosession.From(c) // in a handler: s.Set("count", n+1)
//
// A session that a handler never touches costs no store access and sets no
// cookie. Handlers need not call Save: the session is saved (when modified)
// and its cookie set whichever way the handler answers, including when it
// writes nothing or returns an error for Echo's HTTPErrorHandler to render.
// When the session cannot be loaded or committed, the middleware hands an
// *echo.HTTPError to Echo's HTTPErrorHandler, whose response replaces the
// handler's; the handler's later writes are dropped.
package echosession
