// Package adapter is the kit for adapting hybridsession to a web
// framework: a Guard that commits a session just before a response's
// headers go out and replaces the response when the commit fails, and a
// ResponseWriter that runs it. ginsession and echosession are built on it;
// apps do not need it.
package adapter

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

// ErrResponseReplaced is returned by writes of a handler whose response was
// replaced by an error response because the session could not be committed.
var ErrResponseReplaced = errors.New("adapter: response replaced: the session could not be committed")

// guardState is where a Guard is in its one-way journey: pending, then
// passing or replaced for good.
type guardState uint8

const (
	guardPending  guardState = iota // nothing written yet
	guardPassing                    // committed; writes go through
	guardReplaced                   // commit failed; writes through the guard are dropped
)

// Committer is what a Guard commits: a *core.Session, whose Commit saves
// it if needed and writes its headers (see core.Session.Commit).
type Committer interface {
	Commit(h http.Header, status int) error
}

// Guard commits a session exactly once, just before a response's headers
// are written, and replaces the response when the commit fails. The
// middlewares of this module and its adapters share it; it is exported for
// adapters to other frameworks. It is used by one goroutine at a time, as a
// ResponseWriter is.
//
// The error response of a failed commit never goes through the guarded
// writer: once the commit has failed, the guard drops every write that
// reaches it, the error response's included. An adapter writes the error
// response to the writer it wrapped (the inner writer): in render, it
// points its framework at the inner writer, renders, and points it back;
// after Finish, it renders to the inner writer.
type Guard struct {
	session Committer
	render  func(err error)
	state   guardState
}

// NewGuard returns a guard for s. render writes the error response when a
// commit in Before fails. It must write to the inner writer, the one the
// guarded writer wraps, not through the guarded writer: the guard is
// already replaced when render runs, and drops what reaches it with
// ErrResponseReplaced (so a render that gets this wrong loses its response
// but never commits twice or loops).
func NewGuard(s Committer, render func(err error)) *Guard {
	return &Guard{session: s, render: render}
}

// Before is called by a response writer before the status line of the
// response goes out, with the response's header map and status. It commits
// the session the first time and reports whether the caller may write;
// false means the response was replaced, and the caller must drop its
// write. When this commit fails, Before calls render, once, before it
// returns false.
func (g *Guard) Before(h http.Header, status int) bool {
	switch g.state {
	case guardPassing:
		return true
	case guardReplaced:
		return false
	}
	if err := g.commit(h, status); err != nil {
		g.render(err)
		return false
	}
	return true
}

// Finish commits the session if nothing was written yet, for a handler that
// returned without writing, and returns the commit's error instead of
// rendering it, so that the caller reports it in its framework's way. As
// for render, the caller writes that error response to the inner writer:
// the guard is replaced and drops what reaches it.
func (g *Guard) Finish(h http.Header, status int) error {
	if g.state != guardPending {
		return nil
	}
	return g.commit(h, status)
}

// commit commits the session and leaves the guard passing, or replaced
// when the commit fails.
func (g *Guard) commit(h http.Header, status int) error {
	err := g.session.Commit(h, status)
	if err == nil {
		g.state = guardPassing
		return nil
	}
	// The headers that described the handler's response go with it; the
	// others (CORS, request ids, security headers set by outer middleware)
	// stay.
	for _, k := range replacedHeaders {
		delete(h, k)
	}
	g.state = guardReplaced
	return err
}

// replacedHeaders describe a response body or the state it would set.
var replacedHeaders = []string{
	"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language",
	"Content-Length", "Content-Location", "Content-Range", "Content-Type",
	"Etag", "Expires", "Last-Modified", "Location", "Refresh", "Retry-After",
	"Set-Cookie", "Trailer", "Vary",
}

// WrapWriter returns a ResponseWriter that runs g.Before before the
// response's headers go out, and keeps Flush, Hijack, ReadFrom and Unwrap
// (for http.ResponseController) working.
func WrapWriter(w http.ResponseWriter, g *Guard) http.ResponseWriter {
	return &responseWriter{w: w, g: g}
}

type responseWriter struct {
	w http.ResponseWriter
	g *Guard
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational: the real headers come later
		return
	}
	if rw.g.Before(rw.w.Header(), code) {
		rw.w.WriteHeader(code)
	}
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if !rw.g.Before(rw.w.Header(), http.StatusOK) {
		return 0, ErrResponseReplaced
	}
	return rw.w.Write(b)
}

// ReadFrom keeps io.Copy's sendfile path of the underlying writer.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !rw.g.Before(rw.w.Header(), http.StatusOK) {
		return 0, ErrResponseReplaced
	}
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{rw.w}, src)
}

// writerOnly hides every method but Write, so io.Copy does not loop back.
type writerOnly struct{ io.Writer }

func (rw *responseWriter) Flush() {
	if rw.g.Before(rw.w.Header(), http.StatusOK) {
		_ = http.NewResponseController(rw.w).Flush()
	}
}

func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.g.Before(rw.w.Header(), http.StatusSwitchingProtocols) {
		return nil, nil, ErrResponseReplaced
	}
	return http.NewResponseController(rw.w).Hijack()
}

func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }
