// Package contract is the HTTP contract test of the example apps (examples/README.md,
// "The HTTP contract"), written once and run against both
// through their http.Handler, on SQLite and on PostgreSQL:
//
//	func TestContract(t *testing.T) {
//		contract.Run(t, ginapp.New)
//	}
//
// PostgreSQL runs when $HYBRIDSESSION_TEST_POSTGRES is set (see
// internal/testdb); otherwise those subtests skip and say why.
package contract

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// NewApp builds the app under test on a session manager, with the fresh
// age POST /sensitive asks of a login: ginapp.New, echoapp.New.
type NewApp func(m *core.Manager, freshAge time.Duration) http.Handler

// lifetime is the session lifetime of the managers the suite makes.
const lifetime = 2 * time.Hour

// NewManager returns a session manager on a fresh database of the given
// kind, as the apps make it (gormstore, migrated, behind the cache), with
// cfg and, unless cfg sets one, the suite's lifetime.
func NewManager(t *testing.T, kind testdb.Kind, cfg core.Config) *core.Manager {
	t.Helper()
	if cfg.Lifetime == 0 {
		cfg.Lifetime = lifetime
	}
	db, _ := testdb.Open(t, kind)
	m, err := demo.NewManager(t.Context(), db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serve starts the app on loopback for the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Run runs the contract against the app newApp builds, once per database
// kind.
func Run(t *testing.T, newApp NewApp) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := serve(t, newApp(NewManager(t, kind, core.Config{}), demo.DefaultFreshAge))
			for _, tc := range slices.Concat(cases, sessionCases, headCases) {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, srv)
				})
			}
			for _, tc := range ownAppCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, serve(t, newApp(NewManager(t, kind, tc.app.ManagerConfig()), tc.app.FreshAge)))
				})
			}
			t.Run("healthz/store down", func(t *testing.T) {
				t.Parallel()
				db, _ := testdb.Open(t, kind)
				m, err := demo.NewManager(t.Context(), db, core.Config{})
				if err != nil {
					t.Fatal(err)
				}
				srv := serve(t, newApp(m, demo.DefaultFreshAge))
				c := newClient(t, srv)
				c.get("/healthz").want(t, http.StatusOK, `{"status":"ok"}`)
				c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
				sqlDB, err := db.DB()
				if err != nil {
					t.Fatal(err)
				}
				sqlDB.Close()
				c.get("/healthz").wantError(t, http.StatusServiceUnavailable)
				// Requests that must write to the store are told so, in JSON.
				c.do("POST", "/counter", "").wantError(t, http.StatusServiceUnavailable)
				fresh := newClient(t, srv)
				fresh.do("POST", "/counter", "").wantError(t, http.StatusServiceUnavailable)
				// One that does not need the store still works.
				fresh.get("/counter").want(t, http.StatusOK, `{"count":0}`)
			})
		})
	}
}

// RunCross checks that a session made by one app is read by the other, as
// two servers on one database: each app gets a manager of its own, with
// its invalidation listener running as demo.Serve runs it. On PostgreSQL
// it also checks that a session revoked through one is refused through
// the other, which has it cached, within revokeBound.
func RunCross(t *testing.T, nameA string, newA NewApp, nameB string, newB NewApp) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			db, _ := testdb.Open(t, kind)
			newServer := func(newApp NewApp) *httptest.Server {
				m, err := demo.NewManager(t.Context(), db, core.Config{})
				if err != nil {
					t.Fatal(err)
				}
				runInvalidations(t, m)
				return serve(t, newApp(m, demo.DefaultFreshAge))
			}
			a, b := newServer(newA), newServer(newB)
			for _, dir := range []struct {
				from, to     string
				fromSrv, toS *httptest.Server
			}{{nameA, nameB, a, b}, {nameB, nameA, b, a}} {
				t.Run(dir.from+" to "+dir.to, func(t *testing.T) {
					user := "cross-" + dir.from
					c := newClient(t, dir.fromSrv)
					c.sendJSON("POST", "/login", map[string]any{"username": user}).want(t, 200, fmt.Sprintf(`{"user":%q}`, user))
					c.do("POST", "/counter", "").want(t, 200, `{"count":1}`)
					c.sendJSON("PUT", "/prefs/theme", `{"value":"dark"}`).want(t, 200, `{"prefs":{"theme":"dark"}}`)

					other := newClient(t, dir.toS).withToken(c.token())
					other.do("GET", "/me", "").want(t, 200, fmt.Sprintf(`{"user":%q,"count":1}`, user))
					other.do("GET", "/prefs", "").want(t, 200, `{"prefs":{"theme":"dark"}}`)
					other.do("POST", "/counter", "").want(t, 200, `{"count":2}`)
				})
				t.Run("revoke through "+dir.from+" refused through "+dir.to, func(t *testing.T) {
					if kind != testdb.Postgres {
						t.Skip("two processes share sessions through PostgreSQL; an SQLite file belongs to one")
					}
					testRevokeAcross(t, "revoke-"+dir.from, dir.fromSrv, dir.toS)
				})
			}
		})
	}
}

// testCase is one part of the contract, run on a fresh client of a shared
// server; cases use user names of their own.
type testCase struct {
	name string
	run  func(t *testing.T, srv *httptest.Server)
}

var cases = []testCase{
	{"healthz", func(t *testing.T, srv *httptest.Server) {
		r := newClient(t, srv).get("/healthz")
		r.want(t, http.StatusOK, `{"status":"ok"}`)
		if ck := r.cookie(t); ck != nil {
			t.Errorf("GET /healthz set a session cookie: %v", ck)
		}
	}},

	{"page/anonymous", func(t *testing.T, srv *httptest.Server) {
		r := newClient(t, srv).get("/")
		r.wantHTML(t, "Not logged in", `action="/login"`, `name="username"`, `name="remember"`,
			`action="/counter"`, `action="/prefs"`, `name="key"`, `name="value"`)
		if ck := r.cookie(t); ck != nil {
			t.Errorf("GET / of an anonymous visitor set a session cookie: %v", ck)
		}
	}},

	{"not found and method not allowed", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.get("/no-such-page").wantError(t, http.StatusNotFound)
		c.do("DELETE", "/me", "").wantError(t, http.StatusMethodNotAllowed)
		c.do("PATCH", "/counter", "").wantError(t, http.StatusMethodNotAllowed)
		c.get("/logout").wantError(t, http.StatusMethodNotAllowed)
	}},

	{"login/json", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.get("/me").wantError(t, http.StatusUnauthorized)
		r := c.sendJSON("POST", "/login", `{"username": "  alice  "}`)
		r.want(t, http.StatusOK, `{"user":"alice"}`)
		if ck := r.cookie(t); ck == nil || ck.Value == "" {
			t.Fatalf("login set no session cookie")
		} else if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("session cookie = %v, want HttpOnly, SameSite=Lax, Path=/", ck)
		}
		c.get("/me").want(t, http.StatusOK, `{"user":"alice","count":0}`)
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
		c.get("/me").want(t, http.StatusOK, `{"user":"alice","count":1}`)
	}},

	{"login/username limits", func(t *testing.T, srv *httptest.Server) {
		for _, tc := range []struct {
			name, username, want string
		}{
			{"64 characters", strings.Repeat("x", 64), strings.Repeat("x", 64)},
			{"64 two-byte characters", strings.Repeat("é", 64), strings.Repeat("é", 64)},
			{"trimmed to 64", "  " + strings.Repeat("y", 64) + "\t", strings.Repeat("y", 64)},
			{"unicode", "Zoë 🦫", "Zoë 🦫"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv)
				c.sendJSON("POST", "/login", map[string]string{"username": tc.username}).
					want(t, http.StatusOK, fmt.Sprintf(`{"user":%q}`, tc.want))
				c.get("/me").want(t, http.StatusOK, fmt.Sprintf(`{"user":%q,"count":0}`, tc.want))
			})
		}
	}},

	{"login/bad input", func(t *testing.T, srv *httptest.Server) {
		for _, tc := range []struct {
			name, contentType, body string
			status                  int
		}{
			{"empty username", "application/json", `{"username": ""}`, 400},
			{"blank username", "application/json", `{"username": "   "}`, 400},
			{"missing username", "application/json", `{"remember": true}`, 400},
			{"null username", "application/json", `{"username": null}`, 400},
			{"65 characters", "application/json", `{"username": "` + strings.Repeat("x", 65) + `"}`, 400},
			{"control character", "application/json", `{"username": "a\u0000b"}`, 400},
			{"number username", "application/json", `{"username": 42}`, 400},
			{"string remember", "application/json", `{"username": "bob", "remember": "yes"}`, 400},
			{"unknown field", "application/json", `{"username": "bob", "admin": true}`, 400},
			{"truncated JSON", "application/json", `{"username": "bob"`, 400},
			{"not JSON", "application/json", `username=bob`, 400},
			{"array", "application/json", `["bob"]`, 400},
			{"trailing data", "application/json", `{"username": "bob"} {}`, 400},
			{"empty body", "application/json", ``, 400},
			{"empty form", "application/x-www-form-urlencoded", ``, 400},
			{"65 characters form", "application/x-www-form-urlencoded", "username=" + strings.Repeat("x", 65), 400},
			{"bad remember form", "application/x-www-form-urlencoded", "username=bob&remember=maybe", 400},
			{"unknown form field", "application/x-www-form-urlencoded", "username=bob&role=admin", 400},
			{"JSON sent as a form", "application/x-www-form-urlencoded", `{"username": "bob"}`, 400},
			{"body too large", "application/json", `{"username": "bob", "x": "` + strings.Repeat("x", 5000) + `"}`, 413},
			{"unsupported content type", "text/plain", `bob`, 415},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv)
				r := c.do("POST", "/login", tc.body, "Content-Type", tc.contentType)
				r.wantError(t, tc.status)
				if ck := r.cookie(t); ck != nil {
					t.Errorf("a failed login set a session cookie: %v", ck)
				}
				c.get("/me").wantError(t, http.StatusUnauthorized)
			})
		}
	}},

	{"login/form from curl answers JSON", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.postForm("/login", url.Values{"username": {"carl"}}).want(t, http.StatusOK, `{"user":"carl"}`)
		c.get("/me").want(t, http.StatusOK, `{"user":"carl","count":0}`)
	}},

	{"login/renews the token", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
		before := c.token()
		if before == "" {
			t.Fatal("POST /counter left no session cookie")
		}
		c.sendJSON("POST", "/login", `{"username":"renee"}`).want(t, http.StatusOK, `{"user":"renee"}`)
		after := c.token()
		if after == "" || after == before {
			t.Fatalf("token after login = %q, want a new one (before: %q)", after, before)
		}
		// The data survives the renewal; the old token is dead.
		c.get("/me").want(t, http.StatusOK, `{"user":"renee","count":1}`)
		old := c.withToken(before)
		old.do("GET", "/me", "").wantError(t, http.StatusUnauthorized)
		old.do("GET", "/counter", "").want(t, http.StatusOK, `{"count":0}`)
	}},

	{"login/remember", func(t *testing.T, srv *httptest.Server) {
		for _, tc := range []struct {
			name, body string
			persistent bool
		}{
			{"absent", `{"username":"rem"}`, true},
			{"true", `{"username":"rem","remember":true}`, true},
			{"false", `{"username":"rem","remember":false}`, false},
			{"null", `{"username":"rem","remember":null}`, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv)
				r := c.sendJSON("POST", "/login", tc.body)
				r.want(t, http.StatusOK, `{"user":"rem"}`)
				wantCookiePersistence(t, r.cookie(t), tc.persistent)
				c.get("/me").want(t, http.StatusOK, `{"user":"rem","count":0}`)
			})
		}
		t.Run("form", func(t *testing.T) {
			for _, tc := range []struct {
				name       string
				remember   []string
				persistent bool
			}{
				{"absent", nil, true},
				{"checkbox ticked", []string{"false", "true"}, true},
				{"checkbox not ticked", []string{"false"}, false},
				{"on", []string{"on"}, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := newClient(t, srv)
					r := c.postForm("/login", url.Values{"username": {"rem"}, "remember": tc.remember})
					r.want(t, http.StatusOK, `{"user":"rem"}`)
					wantCookiePersistence(t, r.cookie(t), tc.persistent)
				})
			}
		})
		t.Run("anonymous session", func(t *testing.T) {
			r := newClient(t, srv).do("POST", "/counter", "")
			r.want(t, http.StatusOK, `{"count":1}`)
			wantCookiePersistence(t, r.cookie(t), true)
		})
	}},

	{"counter", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		r := c.get("/counter")
		r.want(t, http.StatusOK, `{"count":0}`)
		if ck := r.cookie(t); ck != nil {
			t.Errorf("GET /counter of a new visitor set a cookie: %v", ck)
		}
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":2}`)
		for range 3 {
			c.get("/counter").want(t, http.StatusOK, `{"count":2}`)
		}
		c.get("/me").wantError(t, http.StatusUnauthorized)
	}},

	{"prefs", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		r := c.get("/prefs")
		r.want(t, http.StatusOK, `{"prefs":{}}`)
		if got := strings.TrimSpace(string(r.body)); got != `{"prefs":{}}` {
			t.Errorf("GET /prefs = %s, want exactly {\"prefs\":{}}", got)
		}
		c.sendJSON("PUT", "/prefs/theme", `{"value":"dark"}`).want(t, 200, `{"prefs":{"theme":"dark"}}`)
		c.sendJSON("PUT", "/prefs/lang_2", `{"value":"en"}`).want(t, 200, `{"prefs":{"theme":"dark","lang_2":"en"}}`)
		c.sendJSON("PUT", "/prefs/theme", `{"value":"light"}`).want(t, 200, `{"prefs":{"theme":"light","lang_2":"en"}}`)
		long := strings.Repeat("v", demo.MaxPrefValue)
		key32 := strings.Repeat("k", 32)
		c.sendJSON("PUT", "/prefs/"+key32, map[string]string{"value": long}).want(t, 200,
			fmt.Sprintf(`{"prefs":{"theme":"light","lang_2":"en",%q:%q}}`, key32, long))
		c.sendJSON("PUT", "/prefs/empty", `{"value":""}`).wantStatus(t, 200)
		c.get("/prefs").want(t, 200, fmt.Sprintf(`{"prefs":{"theme":"light","lang_2":"en",%q:%q,"empty":""}}`, key32, long))
		// The counter is a session value too, but not a preference.
		c.do("POST", "/counter", "").wantStatus(t, 200)
		c.get("/prefs").want(t, 200, fmt.Sprintf(`{"prefs":{"theme":"light","lang_2":"en",%q:%q,"empty":""}}`, key32, long))
	}},

	{"prefs/bad input", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.sendJSON("PUT", "/prefs/theme", `{"value":"dark"}`).wantStatus(t, 200)
		for _, tc := range []struct {
			name, path, contentType, body string
			status                        int
		}{
			{"upper-case key", "/prefs/Theme", "application/json", `{"value":"x"}`, 400},
			{"dash in key", "/prefs/a-b", "application/json", `{"value":"x"}`, 400},
			{"33-character key", "/prefs/" + strings.Repeat("k", 33), "application/json", `{"value":"x"}`, 400},
			{"space in key", "/prefs/th%20eme", "application/json", `{"value":"x"}`, 400},
			{"unicode key", "/prefs/th%C3%A9me", "application/json", `{"value":"x"}`, 400},
			{"value too long", "/prefs/theme", "application/json", `{"value":"` + strings.Repeat("v", demo.MaxPrefValue+1) + `"}`, 400},
			{"number value", "/prefs/theme", "application/json", `{"value":1}`, 400},
			{"missing value", "/prefs/theme", "application/json", `{}`, 400},
			{"null value", "/prefs/theme", "application/json", `{"value":null}`, 400},
			{"unknown field", "/prefs/theme", "application/json", `{"value":"x","other":1}`, 400},
			{"garbage", "/prefs/theme", "application/json", `}{`, 400},
			{"empty body", "/prefs/theme", "application/json", ``, 400},
			{"body too large", "/prefs/theme", "application/json", `{"value":"` + strings.Repeat("v", 5000) + `"}`, 413},
			{"unsupported content type", "/prefs/theme", "text/plain", `x`, 415},
			{"form: bad key", "/prefs", "application/x-www-form-urlencoded", `key=BAD&value=x`, 400},
			{"form: missing key", "/prefs", "application/x-www-form-urlencoded", `value=x`, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				method := "PUT"
				if tc.path == "/prefs" {
					method = "POST"
				}
				c.do(method, tc.path, tc.body, "Content-Type", tc.contentType).wantError(t, tc.status)
			})
		}
		c.get("/prefs").want(t, 200, `{"prefs":{"theme":"dark"}}`)
	}},

	{"prefs/session too large", func(t *testing.T, srv *httptest.Server) {
		// Each preference is its own value of at most 256 bytes; a session
		// holds 64 KiB of encoded data. The change that would pass the
		// limit answers 413 with Retry-After absent, and stores nothing.
		c := newClient(t, srv)
		value := strings.Repeat("v", demo.MaxPrefValue)
		for i := 0; ; i++ {
			if i > 1000 {
				t.Fatal("1000 preferences of 256 bytes stored, want a 413 before 64 KiB")
			}
			r := c.sendJSON("PUT", fmt.Sprintf("/prefs/k%d", i), map[string]string{"value": value})
			if r.status == http.StatusOK {
				continue
			}
			r.wantError(t, http.StatusRequestEntityTooLarge)
			if ra := r.header.Get("Retry-After"); ra != "" {
				t.Errorf("413 with Retry-After %q, want none", ra)
			}
			var got struct{ Prefs map[string]string }
			decode(t, c.get("/prefs"), &got)
			if len(got.Prefs) != i || got.Prefs[fmt.Sprintf("k%d", i)] != "" {
				t.Errorf("after the 413 of preference %d: %d preferences stored, want the %d before it", i, len(got.Prefs), i)
			}
			return
		}
	}},

	{"prefs/post form", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.postForm("/prefs", url.Values{"key": {"color"}, "value": {"blue"}}).want(t, 200, `{"prefs":{"color":"blue"}}`)
		c.sendJSON("POST", "/prefs", `{"key":"size","value":"xl"}`).want(t, 200, `{"prefs":{"color":"blue","size":"xl"}}`)
	}},

	{"prefs/concurrent changes of different keys merge", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.sendJSON("PUT", "/prefs/first", `{"value":"0"}`).wantStatus(t, 200)
		const n = 8
		want := map[string]string{"first": "0"}
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			key := fmt.Sprintf("k%d", i)
			want[key] = fmt.Sprint(i)
			body := fmt.Sprintf(`{"value":"%d"}`, i)
			wg.Go(func() {
				req, err := http.NewRequest("PUT", srv.URL+"/prefs/"+key, strings.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if res, err := c.hc.Do(req); err == nil {
					statuses[i] = res.StatusCode
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		for i, st := range statuses {
			if st != http.StatusOK {
				t.Errorf("concurrent PUT /prefs/k%d: status %d, want 200", i, st)
			}
		}
		var got demo.PrefsBody
		r := c.get("/prefs")
		r.wantStatus(t, 200)
		decode(t, r, &got)
		if fmt.Sprint(got.Prefs) != fmt.Sprint(want) {
			t.Errorf("prefs after %d concurrent PUTs = %v, want %v", n, got.Prefs, want)
		}
	}},

	{"logout", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.sendJSON("POST", "/login", `{"username":"lou"}`).wantStatus(t, 200)
		token := c.token()
		r := c.do("POST", "/logout", "")
		r.want(t, http.StatusOK, `{"ok":true}`)
		ck := r.cookie(t)
		if ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
			t.Errorf("logout cookie = %v, want an expired, empty session cookie", ck)
		}
		if got := c.token(); got != "" {
			t.Errorf("after logout the jar still holds a session cookie %q", got)
		}
		c.get("/me").wantError(t, http.StatusUnauthorized)
		// The old token is dead on the server, not only in this browser.
		old := c.withToken(token)
		old.do("GET", "/me", "").wantError(t, http.StatusUnauthorized)
		old.do("GET", "/counter", "").want(t, http.StatusOK, `{"count":0}`)
	}},

	{"logout/anonymous", func(t *testing.T, srv *httptest.Server) {
		newClient(t, srv).do("POST", "/logout", "").want(t, http.StatusOK, `{"ok":true}`)
	}},

	{"logout-all", func(t *testing.T, srv *httptest.Server) {
		const user = "lola"
		devices := make([]*client, 3)
		for i := range devices {
			devices[i] = newClient(t, srv)
			devices[i].sendJSON("POST", "/login", map[string]string{"username": user}).wantStatus(t, 200)
		}
		bystander := newClient(t, srv)
		bystander.sendJSON("POST", "/login", `{"username":"lolb"}`).wantStatus(t, 200)

		r := devices[0].do("POST", "/logout-all", "")
		r.want(t, http.StatusOK, `{"revoked":3}`)
		if ck := r.cookie(t); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("logout-all cookie = %v, want the session cookie expired", ck)
		}
		if tok := devices[0].token(); tok != "" {
			t.Errorf("after logout-all the jar still holds a session cookie %q", tok)
		}
		for _, d := range devices {
			d.get("/me").wantError(t, http.StatusUnauthorized)
		}
		bystander.get("/me").want(t, http.StatusOK, `{"user":"lolb","count":0}`)
		// Nothing left to revoke; and logged out, the caller is anonymous.
		devices[1].do("POST", "/logout-all", "").wantError(t, http.StatusUnauthorized)
	}},

	{"logout-all/anonymous", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.do("POST", "/logout-all", "").wantError(t, http.StatusUnauthorized)
		c.do("POST", "/counter", "").want(t, 200, `{"count":1}`)
		c.do("POST", "/logout-all", "").wantError(t, http.StatusUnauthorized)
		c.get("/counter").want(t, 200, `{"count":1}`)
	}},

	{"malformed cookie", func(t *testing.T, srv *httptest.Server) {
		valid := newClient(t, srv)
		valid.do("POST", "/counter", "").wantStatus(t, 200)
		real := valid.token()
		for _, tc := range []struct{ name, value string }{
			{"garbage", "garbage"},
			{"empty", ""},
			{"one character short", real[:len(real)-1]},
			{"one character long", real + "A"},
			{"padded base64", real + "="},
			{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(real[:len(real)-1]) + "+"},
			{"unknown token", strings.Repeat("A", len(real))},
			{"huge", strings.Repeat("x", 3000)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv).withToken(tc.value)
				c.do("GET", "/counter", "").want(t, 200, `{"count":0}`)
				c.do("GET", "/me", "").wantError(t, http.StatusUnauthorized)
				page := c.do("GET", "/", "")
				page.wantHTML(t, "Not logged in")
				r := c.do("POST", "/counter", "")
				r.want(t, 200, `{"count":1}`)
				if ck := r.cookie(t); ck == nil || ck.Value == "" || ck.Value == tc.value {
					t.Errorf("POST /counter with a bad cookie set cookie %v, want a fresh session", ck)
				}
			})
		}
	}},

	{"page/browser", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.browser = true
		c.postForm("/login", url.Values{"username": {""}}).wantRedirect(t)
		c.get("/").wantHTML(t, `class="flash error"`, "username is required", "Not logged in")

		const name = `<b>Eve & "co"</b>`
		c.postForm("/login", url.Values{"username": {name}, "remember": {"false", "true"}}).wantRedirect(t)
		page := c.get("/")
		page.wantHTML(t, `&lt;b&gt;Eve &amp; &#34;co&#34;&lt;/b&gt;`, "Logged in as", `action="/logout"`,
			`action="/logout-all"`, `action="/counter"`, `action="/prefs"`)
		if strings.Contains(string(page.body), name) {
			t.Errorf("GET / shows the username unescaped")
		}
		if again := c.get("/"); strings.Contains(string(again.body), `class="flash`) {
			t.Errorf("a flash message was shown twice")
		}
		c.postForm("/counter", nil).wantRedirect(t)
		c.postForm("/counter", nil).wantRedirect(t)
		c.get("/").wantHTML(t, `<span class="count" id="count">2</span>`, "Count is now 2.")
		c.postForm("/prefs", url.Values{"key": {"theme"}, "value": {"dark"}}).wantRedirect(t)
		c.get("/").wantHTML(t, "<td>theme</td><td>dark</td>")
		c.get("/me").want(t, 200, fmt.Sprintf(`{"user":%q,"count":2}`, name))

		c.postForm("/logout", nil).wantRedirect(t)
		c.get("/").wantHTML(t, "Logged out.", "Not logged in", `action="/login"`)
		c.get("/me").wantError(t, http.StatusUnauthorized)
	}},

	{"page/browser logout-all", func(t *testing.T, srv *httptest.Server) {
		other := newClient(t, srv)
		other.sendJSON("POST", "/login", `{"username":"bea"}`).wantStatus(t, 200)
		c := newClient(t, srv)
		c.browser = true
		c.postForm("/login", url.Values{"username": {"bea"}}).wantRedirect(t)
		c.postForm("/logout-all", nil).wantRedirect(t)
		c.get("/").wantHTML(t, "Logged out of 2 sessions.", "Not logged in")
		other.get("/me").wantError(t, http.StatusUnauthorized)
	}},
}

// wantCookiePersistence checks that ck is a persistent cookie lasting the
// suite's lifetime, or a browser-session cookie.
func wantCookiePersistence(t *testing.T, ck *http.Cookie, persistent bool) {
	t.Helper()
	if ck == nil {
		t.Fatal("no session cookie set")
	}
	if !persistent {
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("cookie %v has Max-Age/Expires, want a browser-session cookie", ck)
		}
		return
	}
	max := int(lifetime.Seconds())
	if ck.MaxAge < max-60 || ck.MaxAge > max {
		t.Errorf("cookie Max-Age = %d, want about %d (the lifetime)", ck.MaxAge, max)
	}
	if d := time.Until(ck.Expires); d < lifetime-time.Minute || d > lifetime+time.Minute {
		t.Errorf("cookie Expires = %v, want about %v from now", ck.Expires, lifetime)
	}
}

func decode(t testing.TB, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: body %q: %v", r.method, r.path, r.body, err)
	}
}
