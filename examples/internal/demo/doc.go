// Package demo is what the Gin and Echo example apps share: their
// configuration (flags and environment), opening the database and the
// session manager (Open), serving with background cleanup and graceful
// shutdown (Serve), and the parts of the HTTP contract in
// examples/README.md that do not depend on the framework: the session value
// names (CountKey, PrefPrefix, Prefs), the input rules and body parsing
// (ReadLogin, ReadPref, ReadPrefForm, IsBrowserForm), the JSON bodies and
// messages (answer.go) and the page (RenderPage).
//
// The handlers themselves are written in each app, in its framework's own
// way (examples/gin/ginapp, examples/echo/echoapp); they take the session
// from their adapter and call these helpers, which know nothing of Gin or
// Echo:
//
//	in, err := demo.ReadLogin(c.Request)
//	...
//	s := ginsession.From(c)
//	s.Login(in.Username)
//	c.JSON(http.StatusOK, demo.UserBody{User: in.Username})
package demo
