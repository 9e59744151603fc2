package adaptertest

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/memstore"
)

// echoGzipOrders are the two ways to register echosession with Echo's Gzip
// middleware, each with Gzip compressing at once and Gzip buffering a short
// body (MinLength).
var echoGzipOrders = []struct {
	name  string
	chain func(session, gz echo.MiddlewareFunc) []echo.MiddlewareFunc
}{
	{"session outside gzip", func(s, gz echo.MiddlewareFunc) []echo.MiddlewareFunc { return []echo.MiddlewareFunc{s, gz} }},
	{"gzip outside session", func(s, gz echo.MiddlewareFunc) []echo.MiddlewareFunc { return []echo.MiddlewareFunc{gz, s} }},
}

var echoGzips = []struct {
	name string
	mw   func() echo.MiddlewareFunc
}{
	{"gzip", middleware.Gzip},
	{"gzip min length", func() echo.MiddlewareFunc {
		return middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1 << 10})
	}},
}

// echoGzipAnswers are the ways a handler that changed the session answers.
var echoGzipAnswers = []struct {
	name   string
	answer func(c echo.Context) error
}{
	{"string", func(c echo.Context) error { return c.String(http.StatusOK, handlerMark) }},
	{"status only", func(c echo.Context) error { return c.NoContent(http.StatusOK) }},
	{"stream", func(c echo.Context) error {
		res := c.Response()
		res.WriteHeader(http.StatusOK)
		if _, err := io.WriteString(res, handlerMark); err != nil {
			return err
		}
		res.Flush()
		return nil
	}},
	{"nothing", func(c echo.Context) error { return nil }},
}

// newEchoGzip builds an Echo app over store with echosession and gz in the
// given order.
func newEchoGzip(t *testing.T, store storage.Store, chain func(session, gz echo.MiddlewareFunc) []echo.MiddlewareFunc,
	gz echo.MiddlewareFunc, answer func(c echo.Context) error) http.Handler {
	t.Helper()
	m, err := core.NewManager(store, core.Config{})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	e := echo.New()
	e.Logger.SetOutput(io.Discard) // a replaced response's dropped writes are logged
	e.Use(chain(echosession.Middleware(m), gz)...)
	e.GET("/", func(c echo.Context) error {
		echosession.From(c).Set("v", 1)
		return answer(c)
	})
	return e
}

// getGzip sends a GET accepting gzip over a real connection and returns the
// response with its body decoded.
func getGzip(t *testing.T, h http.Handler) (*http.Response, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport leaves the body encoded
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return res, string(b)
}

// A failed commit answers 503 with Retry-After and the error body whichever
// way echosession and Gzip are ordered, never the handler's 200.
func TestEchoGzipCommitFails(t *testing.T) {
	for _, order := range echoGzipOrders {
		for _, gz := range echoGzips {
			for _, a := range echoGzipAnswers {
				t.Run(order.name+"/"+gz.name+"/"+a.name, func(t *testing.T) {
					store := storetest.NewFaulty(memstore.New())
					store.SetDown(true)
					res, b := getGzip(t, newEchoGzip(t, store, order.chain, gz.mw(), a.answer))

					if res.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("status = %d, want %d", res.StatusCode, http.StatusServiceUnavailable)
					}
					if res.Header.Get("Retry-After") == "" {
						t.Errorf("no Retry-After header")
					}
					if !strings.Contains(b, "Service Unavailable") || strings.Contains(b, handlerMark) {
						t.Errorf("body = %q, want the error response and not the handler's", b)
					}
					if c := res.Cookies(); len(c) != 0 {
						t.Errorf("Set-Cookie = %v, want none", c)
					}
				})
			}
		}
	}
}

// A successful commit sets the cookie and Gzip still compresses the body.
func TestEchoGzipCommitSucceeds(t *testing.T) {
	for _, order := range echoGzipOrders {
		t.Run(order.name, func(t *testing.T) {
			store := storetest.NewFaulty(memstore.New())
			res, b := getGzip(t, newEchoGzip(t, store, order.chain, middleware.Gzip(), echoGzipAnswers[0].answer))

			if res.StatusCode != http.StatusOK || b != handlerMark {
				t.Errorf("response = %d %q, want %d %q", res.StatusCode, b, http.StatusOK, handlerMark)
			}
			if ce := res.Header.Get("Content-Encoding"); ce != "gzip" {
				t.Errorf("Content-Encoding = %q, want gzip", ce)
			}
			if sessionCookie(t, res) == nil {
				t.Errorf("no session cookie")
			}
			if n := store.Succeeded(storetest.Create); n != 1 {
				t.Errorf("%d creates, want 1", n)
			}
		})
	}
}
