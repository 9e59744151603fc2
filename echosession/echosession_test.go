package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/memstore"
)

func newManager(t testing.TB) *core.Manager {
	t.Helper()
	m, err := core.NewManager(memstore.New(), core.Config{})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

// panicOf returns what f panics with, or nil.
func panicOf(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestFromPanicsWithoutMiddleware(t *testing.T) {
	var got any
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		got = panicOf(func() { echosession.From(c) })
		return nil
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	want := "echosession: no session in request; add echosession.Middleware(m) before this handler"
	if got != want {
		t.Errorf("From without the middleware panics with %v, want %q", got, want)
	}
}

func TestConfigWithoutManager(t *testing.T) {
	if _, err := (echosession.Config{}).ToMiddleware(); err == nil {
		t.Errorf("Config{}.ToMiddleware() error = nil, want an error")
	}
	if got := panicOf(func() { echosession.Middleware(nil) }); got == nil {
		t.Errorf("Middleware(nil) did not panic")
	}
}

func TestSkipper(t *testing.T) {
	e := echo.New()
	e.Use(echosession.MiddlewareWithConfig(echosession.Config{
		Manager: newManager(t),
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Path(), "/static") },
	}))
	handler := func(c echo.Context) error {
		if _, ok := core.FromContext(c.Request().Context()); ok {
			return c.String(http.StatusOK, "session")
		}
		return c.String(http.StatusOK, "no session")
	}
	e.GET("/static/app.js", handler)
	e.GET("/page", handler)

	tests := []struct {
		name, path, want string
	}{
		{"skipped", "/static/app.js", "no session"},
		{"not skipped", "/page", "session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("GET %s: body = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func ExampleMiddleware() {
	m, err := core.NewManager(memstore.New(), core.Config{})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/me", func(c echo.Context) error {
		user, ok := core.Get[string](echosession.From(c), "user")
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized, "not logged in")
		}
		return c.JSON(http.StatusOK, map[string]any{"user": user})
	})

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/me", nil))
	fmt.Print(rec.Code, " ", rec.Body)
	// Output: 401 {"message":"not logged in"}
}
