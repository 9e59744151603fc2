package adaptertest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/ginsession"
	"github.com/hybridsession/hybridsession/memstore"
)

// freshApps serve POST /login, which logs in, and POST /sensitive behind
// the framework's RequireFresh(maxAge).
var freshApps = []struct {
	name  string
	build func(m *core.Manager, maxAge time.Duration) http.Handler
}{
	{"nethttp", func(m *core.Manager, maxAge time.Duration) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
			s, _ := core.FromContext(r.Context())
			s.Login("alice")
		})
		mux.Handle("POST /sensitive", m.RequireFresh(maxAge)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		return m.Middleware(mux)
	}},
	{"gin", func(m *core.Manager, maxAge time.Duration) http.Handler {
		r := gin.New()
		r.Use(ginsession.Middleware(m))
		r.POST("/login", func(c *gin.Context) { ginsession.From(c).Login("alice"); c.Status(http.StatusOK) })
		r.POST("/sensitive", ginsession.RequireFresh(maxAge), func(c *gin.Context) { c.Status(http.StatusOK) })
		return r
	}},
	{"echo", func(m *core.Manager, maxAge time.Duration) http.Handler {
		e := echo.New()
		e.Use(echosession.Middleware(m))
		e.POST("/login", func(c echo.Context) error { echosession.From(c).Login("alice"); return c.NoContent(http.StatusOK) })
		e.POST("/sensitive", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, echosession.RequireFresh(maxAge))
		return e
	}},
}

// RequireFresh answers 401 without a login and 403 once the login is older
// than its age, in every framework; Gin and Echo name the reason in JSON.
func TestRequireFresh(t *testing.T) {
	for _, app := range freshApps {
		t.Run(app.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m, err := core.NewManager(memstore.New(), core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				h := app.build(m, time.Minute)
				post := func(path string, c *http.Cookie) *http.Response {
					req := httptest.NewRequest(http.MethodPost, path, nil)
					if c != nil {
						req.AddCookie(c)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					return w.Result()
				}
				wantStatus := func(res *http.Response, code int, msg string) {
					t.Helper()
					if res.StatusCode != code {
						t.Fatalf("status %d, want %d", res.StatusCode, code)
					}
					if app.name == "nethttp" {
						return
					}
					var body struct{ Error, Message string }
					json.NewDecoder(res.Body).Decode(&body)
					if got := body.Error + body.Message; got != msg {
						t.Errorf("body names %q, want %q", got, msg)
					}
				}
				wantStatus(post("/sensitive", nil), http.StatusUnauthorized, "not logged in")
				ck := sessionCookie(t, post("/login", nil))
				if res := post("/sensitive", ck); res.StatusCode != http.StatusOK {
					t.Fatalf("fresh login: status %d, want 200", res.StatusCode)
				}
				time.Sleep(2 * time.Minute)
				wantStatus(post("/sensitive", ck), http.StatusForbidden, "reauthentication required")
			})
		})
	}
}

// The adapters are symmetric: each Config has a Skipper, an ErrorHandler,
// ToMiddleware (an error, not a panic, for a bad Config) and RequireFresh
// answering through the ErrorHandler.
func TestAdapterConfigsSymmetric(t *testing.T) {
	if _, err := (ginsession.Config{}).ToMiddleware(); err == nil {
		t.Error("ginsession: ToMiddleware without a Manager succeeded")
	}
	if _, err := (echosession.Config{}).ToMiddleware(); err == nil {
		t.Error("echosession: ToMiddleware without a Manager succeeded")
	}
	m, err := core.NewManager(memstore.New(), core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	gcfg := ginsession.Config{Manager: m, Skipper: func(c *gin.Context) bool { return c.Request.URL.Path == "/skip" },
		ErrorHandler: func(c *gin.Context, err error) { c.AbortWithStatusJSON(418, gin.H{"error": err.Error()}) }}
	gmw, err := gcfg.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	r.Use(gmw)
	r.GET("/skip", func(c *gin.Context) {
		if _, ok := core.FromContext(c.Request.Context()); ok {
			t.Error("gin: a skipped request has a session")
		}
	})
	r.GET("/fresh", gcfg.RequireFresh(time.Minute), func(c *gin.Context) {})
	e := echo.New()
	ecfg := echosession.Config{Manager: m, Skipper: func(c echo.Context) bool { return c.Path() == "/skip" },
		ErrorHandler: func(c echo.Context, err error) error { return echo.NewHTTPError(418, err.Error()) }}
	emw, err := ecfg.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	e.Use(emw)
	e.GET("/skip", func(c echo.Context) error {
		if _, ok := core.FromContext(c.Request().Context()); ok {
			t.Error("echo: a skipped request has a session")
		}
		return nil
	})
	e.GET("/fresh", func(c echo.Context) error { return nil }, ecfg.RequireFresh(time.Minute))
	for name, h := range map[string]http.Handler{"gin": r, "echo": e} {
		for path, want := range map[string]int{"/skip": 200, "/fresh": 418} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != want {
				t.Errorf("%s GET %s: %d, want %d (body %q)", name, path, w.Code, want, w.Body)
			}
		}
	}
}
