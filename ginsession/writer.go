package ginsession

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core/adapter"
)

// writer runs the guard before a gin.ResponseWriter sends the headers.
// Gin's WriteHeader only records the status; the headers go out in
// WriteHeaderNow, Write, WriteString, Flush or Hijack, which are
// intercepted here with the recorded status.
type writer struct {
	gin.ResponseWriter
	guard *adapter.Guard
}

var _ gin.ResponseWriter = (*writer)(nil)

// before commits the session on the first call and reports whether the
// caller may write.
func (w *writer) before(status int) bool {
	return w.guard.Before(w.Header(), status)
}

func (w *writer) WriteHeaderNow() {
	if w.before(w.Status()) {
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.before(w.Status()) {
		return 0, adapter.ErrResponseReplaced
	}
	return w.ResponseWriter.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	if !w.before(w.Status()) {
		return 0, adapter.ErrResponseReplaced
	}
	return w.ResponseWriter.WriteString(s)
}

func (w *writer) Flush() {
	if w.before(w.Status()) {
		w.ResponseWriter.Flush()
	}
}

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.before(http.StatusSwitchingProtocols) {
		return nil, nil, adapter.ErrResponseReplaced
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap lets http.ResponseController reach the writers underneath.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
