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
