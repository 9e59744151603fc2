package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/ginsession"
	"github.com/hybridsession/hybridsession/memstore"
)

func init() { gin.SetMode(gin.TestMode) }

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
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		got = panicOf(func() { ginsession.From(c) })
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	want := "ginsession: no session in request; add ginsession.Middleware(m) before this handler"
	if got != want {
		t.Errorf("From without the middleware panics with %v, want %q", got, want)
	}
}

func TestMiddlewarePanicsOnNilManager(t *testing.T) {
	if got := panicOf(func() { ginsession.Middleware(nil) }); got == nil {
		t.Errorf("Middleware(nil) did not panic")
	}
}

func TestMiddlewareRestoresWriter(t *testing.T) {
	var before, after gin.ResponseWriter
	r := gin.New()
	r.Use(func(c *gin.Context) {
		before = c.Writer
		c.Next()
		after = c.Writer
	}, ginsession.Middleware(newManager(t)))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if after != before {
		t.Errorf("c.Writer after the middleware = %T, want the writer it was given, %T", after, before)
	}
}

func ExampleMiddleware() {
	m, err := core.NewManager(memstore.New(), core.Config{})
	if err != nil {
		panic(err)
	}
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.POST("/counter", func(c *gin.Context) {
		s := ginsession.From(c)
		n, _ := core.Get[int](s, "count")
		s.Set("count", n+1) // committed before the headers go out
		c.JSON(http.StatusOK, gin.H{"count": n + 1})
	})

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/counter", nil))
	fmt.Println(rec.Code, rec.Body, len(rec.Result().Cookies()))
	// Output: 200 {"count":1} 1
}
