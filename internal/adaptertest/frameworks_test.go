package adaptertest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/ginsession"
	"github.com/hybridsession/hybridsession/memstore"
)

// Each adapter reports a failed commit its framework's way: Gin records it
// in c.Errors, Echo hands an *echo.HTTPError to its HTTPErrorHandler.

// downManager returns a manager whose store is down.
func downManager(t testing.TB) *core.Manager {
	t.Helper()
	store := storetest.NewFaulty(memstore.New())
	store.SetDown(true)
	m, err := core.NewManager(store, core.Config{})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

// ginSetThen is a gin handler that changes the session and answers with do.
func ginSetThen(do func(c *gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ginsession.From(c).Set("v", 1)
		do(c)
	}
}

func TestGinRecordsCommitError(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c *gin.Context)
	}{
		{"during a write", func(c *gin.Context) { c.String(http.StatusOK, handlerMark) }},
		{"after the handler", func(c *gin.Context) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs []*gin.Error
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				errs = c.Errors
			}, ginsession.Middleware(downManager(t)))
			r.GET("/", ginSetThen(tt.answer))
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want %d", rec.Code, http.StatusServiceUnavailable)
			}
			if len(errs) == 0 || !errors.Is(errs[0].Err, core.ErrUnavailable) {
				t.Errorf("c.Errors = %v, want first an error wrapping %v", errs, core.ErrUnavailable)
			}
		})
	}
}

func TestGinCustomErrorHandler(t *testing.T) {
	var got error
	r := gin.New()
	r.Use(ginsession.MiddlewareWithConfig(ginsession.Config{
		Manager: downManager(t),
		ErrorHandler: func(c *gin.Context, err error) {
			got = err
			c.String(http.StatusTeapot, "custom")
		},
	}))
	r.GET("/", ginSetThen(func(c *gin.Context) { c.String(http.StatusOK, handlerMark) }))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

	if rec.Code != http.StatusTeapot || rec.Body.String() != "custom" {
		t.Errorf("response = %d %q, want %d %q", rec.Code, rec.Body, http.StatusTeapot, "custom")
	}
	if !errors.Is(got, core.ErrUnavailable) {
		t.Errorf("ErrorHandler got %v, want an error wrapping %v", got, core.ErrUnavailable)
	}
}

func TestEchoHTTPErrorOfCommit(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c echo.Context) error
	}{
		{"during a write", func(c echo.Context) error { return c.String(http.StatusOK, handlerMark) }},
		{"after the handler", func(c echo.Context) error { return nil }},
		{"with the handler's error", func(c echo.Context) error { return echo.ErrForbidden }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []error
			e := echo.New()
			e.Logger.SetOutput(io.Discard)
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				got = append(got, err)
				e.DefaultHTTPErrorHandler(err, c)
			}
			e.Use(echosession.Middleware(downManager(t)))
			e.GET("/", func(c echo.Context) error {
				echosession.From(c).Set("v", 1)
				return tt.answer(c)
			})
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want %d", rec.Code, http.StatusServiceUnavailable)
			}
			// The handler's own error, when it returns one, comes first:
			// rendering it is what commits the session; a write the commit
			// dropped returns adapter.ErrResponseReplaced, which comes last.
			if !slices.ContainsFunc(got, func(err error) bool {
				var he *echo.HTTPError
				return errors.As(err, &he) && he.Code == http.StatusServiceUnavailable &&
					he.Message == "Service Unavailable" && errors.Is(he.Internal, core.ErrUnavailable)
			}) {
				t.Errorf("HTTPErrorHandler got %v, want an *echo.HTTPError 503 Service Unavailable wrapping %v", got, core.ErrUnavailable)
			}
		})
	}
}

// A handler that panics after changing the session gets a 500 from the
// framework's recovery middleware, which saves nothing.
func TestPanicSavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		build func(m *core.Manager) http.Handler
	}{
		{"gin", func(m *core.Manager) http.Handler {
			r := gin.New()
			r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, _ any) {
				c.AbortWithStatus(http.StatusInternalServerError)
			}), ginsession.Middleware(m))
			r.GET("/", ginSetThen(func(*gin.Context) { panic("boom") }))
			return r
		}},
		{"echo", func(m *core.Manager) http.Handler {
			e := echo.New()
			e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: true}),
				echosession.Middleware(m))
			e.GET("/", func(c echo.Context) error {
				echosession.From(c).Set("v", 1)
				panic("boom")
			})
			return e
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storetest.NewFaulty(memstore.New())
			m, err := core.NewManager(store, core.Config{})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			tt.build(m).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want %d", rec.Code, http.StatusInternalServerError)
			}
			if n := store.Succeeded(storetest.Create, storetest.Update, storetest.Replace); n != 0 {
				t.Errorf("%d saves, want none", n)
			}
			if c := rec.Result().Cookies(); len(c) != 0 {
				t.Errorf("Set-Cookie = %v, want none", c)
			}
		})
	}
}
