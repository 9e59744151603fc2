package adaptertest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/adapter"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/ginsession"
	"github.com/hybridsession/hybridsession/memstore"
)

// The error response of a failed commit is rendered on the writer the
// guarded writer wraps, never back through it: Guard.Before, which calls
// the render function, is never re-entered.

// guardBefore is the function that calls the render function.
const guardBefore = "github.com/hybridsession/hybridsession/core.(*Guard).Before"

// guardedWriters prefix the methods of the writers that call Guard.Before.
var guardedWriters = []string{
	"github.com/hybridsession/hybridsession/core.(*responseWriter).",
	"github.com/hybridsession/hybridsession/ginsession.(*writer).",
}

// reenters reports whether the stack of its caller went through a guarded
// writer's method called from within Guard.Before: a render function that
// wrote back through the guarded writer.
func reenters() bool {
	pcs := make([]uintptr, 256)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	guarded := false // a guarded writer's method is below, closer to the caller
	for {
		f, more := frames.Next()
		if f.Function == guardBefore && guarded {
			return true
		}
		for _, p := range guardedWriters {
			if strings.HasPrefix(f.Function, p) {
				guarded = true
			}
		}
		if !more {
			return false
		}
	}
}

// reentryRecorder is a recorder that notes every call that can send the
// headers or the body and went through a guarded writer from within
// Guard.Before.
type reentryRecorder struct {
	recorder
	mu    sync.Mutex
	where []string // the calls that re-entered
}

func (r *reentryRecorder) note(call string) {
	if reenters() {
		r.mu.Lock()
		r.where = append(r.where, call)
		r.mu.Unlock()
	}
}

func (r *reentryRecorder) WriteHeader(code int) {
	r.note("WriteHeader")
	r.recorder.WriteHeader(code)
}

func (r *reentryRecorder) Write(b []byte) (int, error) {
	r.note("Write")
	return r.recorder.Write(b)
}

func (r *reentryRecorder) WriteString(s string) (int, error) {
	r.note("WriteString")
	return r.recorder.WriteString(s)
}

func (r *reentryRecorder) Flush() {
	r.note("Flush")
	r.recorder.Flush()
}

// Every engine, answering every way with the store down, writes its error
// response without re-entering the guard: the render function that
// Guard.Before calls writes to the inner writer, not back through the
// guarded writer.
func TestErrorResponseDoesNotReenterGuard(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			f := newFixture(t, eng, core.Config{})
			live := f.login(t)
			for _, a := range answers {
				for _, sent := range []*http.Cookie{nil, live} {
					path := "/set/" + string(a.answer)
					req := httptest.NewRequest(http.MethodGet, path, nil)
					if sent != nil {
						req.AddCookie(sent)
					}
					rec := &reentryRecorder{recorder: recorder{httptest.NewRecorder()}}
					f.store.SetDown(true)
					f.handler.ServeHTTP(rec, req)
					f.store.SetDown(false)

					if a.answer != answer5xx && rec.Code != http.StatusServiceUnavailable {
						t.Errorf("GET %s (cookie %v): status %d, want %d", path, sent != nil, rec.Code, http.StatusServiceUnavailable)
					}
					if len(rec.where) != 0 {
						t.Errorf("GET %s (cookie %v): %v reached the client through the guarded writer from within Guard.Before: the error response re-entered the guard",
							path, sent != nil, rec.where)
					}
				}
			}
		})
	}
}

// The error handlers run with the framework's writer set to the one the
// session middleware was given, in the commit of a write and in the one
// after a handler that wrote nothing.
func TestErrorHandlerGetsInnerWriter(t *testing.T) {
	type answerFunc = func(w http.ResponseWriter, r *http.Request)
	for _, tt := range []struct {
		name   string
		answer answerFunc
	}{
		{"during a write", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, handlerMark) }},
		{"after the handler", func(http.ResponseWriter, *http.Request) {}},
	} {
		t.Run("nethttp/"+tt.name, func(t *testing.T) {
			var given, got http.ResponseWriter
			store := storetest.NewFaulty(memstore.New())
			store.SetDown(true)
			m, err := core.NewManager(store, core.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				got = w
				core.DefaultErrorHandler(w, r, err)
			}})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				s.Set("v", 1)
				tt.answer(w, r)
			}))
			rec := httptest.NewRecorder()
			given = rec
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), handlerMark) {
				t.Errorf("response = %d %q, want 503 without the handler's body", rec.Code, rec.Body)
			}
			if got != given {
				t.Errorf("ErrorHandler wrote to %T, want the writer the middleware was given, %T", got, given)
			}
		})
	}

	for _, tt := range []struct {
		name   string
		answer func(c *gin.Context)
	}{
		{"during a write", func(c *gin.Context) { c.String(http.StatusOK, handlerMark) }},
		{"after the handler", func(*gin.Context) {}},
	} {
		t.Run("gin/"+tt.name, func(t *testing.T) {
			var given, got gin.ResponseWriter
			r := gin.New()
			r.Use(func(c *gin.Context) { given = c.Writer }, ginsession.MiddlewareWithConfig(ginsession.Config{
				Manager: downManager(t),
				ErrorHandler: func(c *gin.Context, err error) {
					got = c.Writer
					ginsession.DefaultErrorHandler(c, err)
				},
			}))
			r.GET("/", ginSetThen(tt.answer))
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), handlerMark) {
				t.Errorf("response = %d %q, want 503 without the handler's body", rec.Code, rec.Body)
			}
			if got == nil || got != given {
				t.Errorf("ErrorHandler ran with c.Writer = %T (%p), want the writer the middleware was given, %T (%p)", got, got, given, given)
			}
		})
	}

	// Echo: with and without Gzip between the writer the session middleware
	// is given and the handler.
	for _, gz := range []struct {
		name string
		mw   []echo.MiddlewareFunc
	}{
		{"", nil},
		{"gzip inside/", []echo.MiddlewareFunc{middleware.Gzip()}},
		{"gzip min length inside/", []echo.MiddlewareFunc{middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1 << 10})}},
	} {
		for _, tt := range []struct {
			name   string
			answer func(c echo.Context) error
		}{
			{"during a write", func(c echo.Context) error { return c.String(http.StatusOK, handlerMark) }},
			{"status only", func(c echo.Context) error { return c.NoContent(http.StatusOK) }},
			{"after the handler", func(echo.Context) error { return nil }},
			{"with the handler's error", func(echo.Context) error { return echo.ErrForbidden }},
		} {
			t.Run("echo/"+gz.name+tt.name, func(t *testing.T) {
				var given, got http.ResponseWriter
				e := echo.New()
				e.Logger.SetOutput(io.Discard)
				e.HTTPErrorHandler = func(err error, c echo.Context) {
					if he, ok := err.(*echo.HTTPError); ok && errors.Is(he.Internal, core.ErrUnavailable) {
						got = c.Response().Writer
					}
					e.DefaultHTTPErrorHandler(err, c)
				}
				e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) error {
						given = c.Response().Writer
						return next(c)
					}
				}, echosession.Middleware(downManager(t)))
				e.Use(gz.mw...)
				e.GET("/", func(c echo.Context) error {
					echosession.From(c).Set("v", 1)
					return tt.answer(c)
				})
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), handlerMark) {
					t.Errorf("response = %d %q, want 503 without the handler's body", rec.Code, rec.Body)
				}
				if got == nil || got != given {
					t.Errorf("HTTPErrorHandler rendered the commit error on %T, want the writer the middleware was given, %T", got, given)
				}
			})
		}
	}
}

// failingSession returns a changed session whose commit will reach its
// store, now down, with one save; the store's counts start at zero.
func failingSession(t *testing.T) (*storetest.Faulty, *core.Session) {
	t.Helper()
	store := storetest.NewFaulty(memstore.New())
	m, err := core.NewManager(store, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// A first session, committed while the store is up, loads the token
	// keys, so that the failing commit gets as far as its save.
	s, _ := m.Begin(httptest.NewRequest(http.MethodGet, "/", nil))
	s.Set("v", 1)
	if err := s.Commit(http.Header{}, http.StatusOK); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	s, _ = m.Begin(httptest.NewRequest(http.MethodGet, "/", nil))
	s.Set("v", 1)
	store.SetDown(true)
	store.Reset()
	return store, s
}

// A render function that gets it wrong and writes through the guarded
// writer neither commits again nor loops: its write is dropped, as are
// the handler's, and the session is committed once.
func TestGuardRenderThroughGuardedWriter(t *testing.T) {
	store, s := failingSession(t)

	rec := httptest.NewRecorder()
	var ww http.ResponseWriter
	renders := 0
	var renderErr error
	g := adapter.NewGuard(s, func(error) {
		renders++
		if renders > 1 {
			t.Fatalf("render called %d times", renders)
		}
		ww.WriteHeader(http.StatusTeapot)
		_, renderErr = io.WriteString(ww, "rendered through the guard")
	})
	ww = adapter.WrapWriter(rec, g)

	if _, err := io.WriteString(ww, handlerMark); !errors.Is(err, adapter.ErrResponseReplaced) {
		t.Errorf("handler's Write = %v, want %v", err, adapter.ErrResponseReplaced)
	}
	if _, err := io.WriteString(ww, handlerMark); !errors.Is(err, adapter.ErrResponseReplaced) {
		t.Errorf("handler's second Write = %v, want %v", err, adapter.ErrResponseReplaced)
	}
	if err := g.Finish(rec.Header(), http.StatusOK); err != nil {
		t.Errorf("Finish after a failed commit = %v, want nil (nothing left to commit)", err)
	}
	if renders != 1 {
		t.Errorf("render called %d times, want once", renders)
	}
	if !errors.Is(renderErr, adapter.ErrResponseReplaced) {
		t.Errorf("render's Write through the guarded writer = %v, want %v", renderErr, adapter.ErrResponseReplaced)
	}
	if n := store.Calls(storetest.Create, storetest.Update, storetest.Replace); n != 1 {
		t.Errorf("%d save attempts, want the one commit", n)
	}
	if rec.Body.Len() != 0 || rec.Code != http.StatusOK || rec.Flushed {
		t.Errorf("inner writer got %d %q, want nothing written through the guard", rec.Code, rec.Body)
	}
}

// A failed Finish leaves the guard replaced: the caller renders the error
// on the inner writer, and a late write through the guarded writer is
// dropped instead of committing again or mixing into the error response.
func TestGuardFinishFails(t *testing.T) {
	store, s := failingSession(t)

	rec := httptest.NewRecorder()
	g := adapter.NewGuard(s, func(error) { t.Errorf("render called after Finish") })
	ww := adapter.WrapWriter(rec, g)
	rec.Header().Set("Content-Type", "text/html")

	err := g.Finish(rec.Header(), http.StatusOK)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Finish = %v, want an error wrapping %v", err, core.ErrUnavailable)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "" {
		t.Errorf("Content-Type = %q after the failed commit, want the handler's dropped", ct)
	}
	core.DefaultErrorHandler(rec, nil, err)
	if _, err := io.WriteString(ww, handlerMark); !errors.Is(err, adapter.ErrResponseReplaced) {
		t.Errorf("late Write through the guarded writer = %v, want %v", err, adapter.ErrResponseReplaced)
	}
	if err := g.Finish(rec.Header(), http.StatusOK); err != nil {
		t.Errorf("second Finish = %v, want nil", err)
	}
	if n := store.Calls(storetest.Create, storetest.Update, storetest.Replace); n != 1 {
		t.Errorf("%d save attempts, want the one commit", n)
	}
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), handlerMark) {
		t.Errorf("response = %d %q, want the 503 alone", rec.Code, rec.Body)
	}
}
