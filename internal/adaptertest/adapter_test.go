package adaptertest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// fixture is one engine serving the routes with the sessions of a manager
// over a counting store.
type fixture struct {
	handler http.Handler
	m       *core.Manager
	store   *storetest.Faulty
	probe   *probe
}

// A mode is a manager configuration every behaviour test runs with.
type mode struct {
	name string
	cfg  core.Config
}

var modes = []mode{
	{"cached", core.Config{}},
	{"uncached", core.Config{Cache: core.CacheOptions{TTL: -1}}},
}

const fileBody = handlerMark + "file"

// The session cookie's name and lifetime by default (core.Config).
const (
	defaultCookie   = "session"
	defaultLifetime = 14 * 24 * time.Hour
)

func newFixture(t testing.TB, eng engine, cfg core.Config) *fixture {
	t.Helper()
	store := storetest.NewFaulty(memstore.New())
	m, err := core.NewManager(store, cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	p := &probe{file: filepath.Join(t.TempDir(), "file.txt")}
	if err := os.WriteFile(p.file, []byte(fileBody), 0o600); err != nil {
		t.Fatal(err)
	}
	return &fixture{handler: eng.build(m, p), m: m, store: store, probe: p}
}

// get serves a GET of path, with the session cookie c when it is not nil.
func (f *fixture) get(t testing.TB, path string, c *http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	rec := recorder{httptest.NewRecorder()}
	f.handler.ServeHTTP(rec, req)
	return rec.Result()
}

// recorder is a ResponseRecorder whose client never goes away, as gin's
// Context.Stream requires of a writer.
type recorder struct{ *httptest.ResponseRecorder }

func (recorder) CloseNotify() <-chan bool { return nil }

// login creates a live session holding v=kept and returns its cookie.
func (f *fixture) login(t testing.TB) *http.Cookie {
	t.Helper()
	res := f.get(t, "/set/string?v=kept", nil)
	c := sessionCookie(t, res)
	if c == nil || !tokenShape.MatchString(c.Value) {
		t.Fatalf("setting up a session: Set-Cookie = %q, want a session token", res.Header.Values("Set-Cookie"))
	}
	return c
}

// cacheLookups is how often the cache was asked for a record.
func (f *fixture) cacheLookups() uint64 {
	st := f.m.Stats() // zero without a cache
	return st.Hits + st.NegativeHits + st.Misses
}

// body reads the whole body of res.
func body(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// sessionCookie returns the session cookie res sets, nil when it sets none,
// and fails the test when it sets more than one or any other cookie.
func sessionCookie(t testing.TB, res *http.Response) *http.Cookie {
	t.Helper()
	cs := res.Cookies()
	switch {
	case len(cs) == 0:
		return nil
	case len(cs) > 1 || cs[0].Name != defaultCookie:
		t.Fatalf("Set-Cookie = %q, want at most one %q cookie", res.Header.Values("Set-Cookie"), defaultCookie)
	}
	return cs[0]
}

// tokenShape is a session token: 32 bytes in unpadded base64url.
var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// What a response does to the session cookie.
type cookieWant int

const (
	noCookie      cookieWant = iota // sets no cookie
	freshCookie                     // sets a new token
	expiredCookie                   // tells the browser to drop the cookie
)

func (w cookieWant) String() string {
	return [...]string{"no cookie", "a fresh token", "an expired cookie"}[w]
}

// checkCookie checks that res does to the session cookie what want says,
// with the library's default attributes, and returns the cookie it sets.
func checkCookie(t testing.TB, res *http.Response, sent *http.Cookie, want cookieWant) *http.Cookie {
	t.Helper()
	c := sessionCookie(t, res)
	var got cookieWant
	switch {
	case c == nil:
		got = noCookie
	case c.MaxAge < 0:
		got = expiredCookie
	default:
		got = freshCookie
	}
	if got != want {
		t.Fatalf("Set-Cookie = %q: %v, want %v", res.Header.Values("Set-Cookie"), got, want)
	}
	if c == nil {
		return nil
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("Set-Cookie = %q, want HttpOnly; SameSite=Lax; Path=/", res.Header.Values("Set-Cookie"))
	}
	if got, want := res.Header.Get("Cache-Control"), `no-cache="Set-Cookie"`; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	if got == freshCookie {
		if !tokenShape.MatchString(c.Value) || (sent != nil && c.Value == sent.Value) {
			t.Errorf("Set-Cookie value = %q (sent %v), want a new 43-character token", c.Value, sent)
		}
		if d := time.Duration(c.MaxAge) * time.Second; d < defaultLifetime-time.Minute || d > defaultLifetime {
			t.Errorf("Set-Cookie Max-Age = %v, want about %v", d, defaultLifetime)
		}
	}
	return c
}

// hasVary reports whether res varies on the Cookie header.
func hasVary(res *http.Response) bool {
	for _, v := range res.Header.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Cookie") {
				return true
			}
		}
	}
	return false
}

// What cookie a request carries.
type cookieSpec struct {
	send  bool   // send a session cookie
	live  bool   // the cookie of a live session holding v=kept
	value string // otherwise, this value
}

var liveCookie = cookieSpec{send: true, live: true}

func badCookie(v string) cookieSpec { return cookieSpec{send: true, value: v} }

// Whether a request looks a record up, in the cache or the store.
type lookupWant int

const (
	lookupUnchecked lookupWant = iota
	lookupNone                 // neither the store nor the cache is asked
	lookupSome                 // the cache or the store is asked
)

// A behaviour is one request and what every engine must answer to it.
type behaviour struct {
	name      string
	cookie    cookieSpec
	storeDown bool // the store fails every call during the request
	evict     bool // the cache forgets every record before the request
	path      string

	wantStatus   int
	wantCookie   cookieWant
	wantVary     bool   // Vary: Cookie
	wantBody     string // the body contains it, when set
	wantNoHandlr bool   // nothing the handler wrote reaches the client
	wantLookup   lookupWant
	wantSaves    int   // successful Create/Update/Replace calls; anySaves: unchecked
	wantErr      error // what the handler's Save or Destroy returns (errors.Is)

	// afterPath, when set, is requested next with the cookie the response
	// set (or else the one sent); its body must be afterBody.
	afterPath, afterBody string
	// oldDead: the sent cookie reads as an empty session afterwards.
	oldDead bool
}

const anySaves = -1

// behaviours are the rows of TestBehaviour.
func behaviours() []behaviour {
	bs := []behaviour{
		{
			name: "untouched route", path: "/untouched/string",
			wantStatus: 200, wantBody: handlerMark, wantLookup: lookupNone,
		},
		{
			name: "untouched route with a live session", cookie: liveCookie, path: "/untouched/string",
			wantStatus: 200, wantBody: handlerMark, wantLookup: lookupNone,
		},
		{
			name: "read-only request", cookie: liveCookie, path: "/get/string",
			wantStatus: 200, wantVary: true, wantBody: handlerMark + "kept",
		},
		{
			name: "read-only request after eviction", cookie: liveCookie, evict: true, path: "/get/string",
			wantStatus: 200, wantVary: true, wantBody: handlerMark + "kept",
		},
		{
			name: "read without a cookie", path: "/get/string",
			wantStatus: 200, wantVary: true, wantBody: handlerMark, wantLookup: lookupNone,
		},
		{
			name: "change a live session", cookie: liveCookie, path: "/set/string?v=changed",
			wantStatus: 200, wantVary: true, wantSaves: 1,
			afterPath: "/get/string", afterBody: handlerMark + "changed",
		},
		{
			name: "handler answers 500 after Set", path: "/set/error5xx",
			wantStatus: 500, wantVary: true,
		},
		{
			name: "handler answers 500 after changing a live session", cookie: liveCookie, path: "/set/error5xx?v=changed",
			wantStatus: 500, wantVary: true,
			afterPath: "/get/string", afterBody: handlerMark + "kept",
		},
		{
			name: "store down, explicit Save", storeDown: true, path: "/save/string",
			wantStatus: 503, wantBody: "Service Unavailable", wantNoHandlr: true,
			wantErr: core.ErrUnavailable,
		},
		{
			name: "store down, read of a session not in the cache", cookie: liveCookie, storeDown: true, evict: true, path: "/get/string",
			wantStatus: 503, wantBody: "Service Unavailable", wantNoHandlr: true,
		},
		{
			name: "Destroy", cookie: liveCookie, path: "/destroy/string",
			wantStatus: 200, wantCookie: expiredCookie, wantVary: true, oldDead: true,
		},
		{
			name: "Destroy without a session", path: "/destroy/string",
			wantStatus: 200, wantVary: true, wantLookup: lookupNone,
		},
		{
			name: "Login", cookie: liveCookie, path: "/login/string",
			wantStatus: 200, wantCookie: freshCookie, wantVary: true, wantSaves: 1,
			afterPath: "/get/string", afterBody: handlerMark + "kept", oldDead: true,
		},
		{
			name: "Renew", cookie: liveCookie, path: "/renew/string",
			wantStatus: 200, wantCookie: freshCookie, wantVary: true, wantSaves: 1,
			afterPath: "/get/string", afterBody: handlerMark + "kept", oldDead: true,
		},
		{
			name: "session used by several goroutines", path: "/concurrent/string",
			wantStatus: 200, wantCookie: freshCookie, wantVary: true, wantSaves: anySaves,
			afterPath: "/keys/string", afterBody: handlerMark + "k0,k1,k2,k3,k4,k5,k6,k7",
		},
	}
	// Every way of answering commits the session before the headers go
	// out, and a failed commit replaces whatever the handler answers.
	for _, a := range answers {
		if a.answer == answer5xx {
			continue // a 5xx saves nothing: see the rows above
		}
		path := "/set/" + string(a.answer)
		bs = append(bs, behaviour{
			name: "Set, answer " + string(a.answer), path: path,
			wantStatus: a.status, wantCookie: freshCookie, wantVary: true, wantSaves: 1,
			afterPath: "/get/string", afterBody: handlerMark + "fresh",
		}, behaviour{
			name: "store down, Set, answer " + string(a.answer), storeDown: true, path: path,
			wantStatus: 503, wantBody: "Service Unavailable", wantNoHandlr: true,
		})
	}
	// A cookie that is not a token's shape, or whose tag does not verify,
	// costs no lookup; the session starts empty, and the junk cookie is
	// never expired (the user's real one may be the one a browser drops).
	valid := "tAwLqzK0-zv2ZxrwCX8ozJ1B1s7wbN8_tNIcyyRYfZA" // canonical: last character's spare bits are 0
	bs = append(bs, behaviour{
		name: "well-formed forged token, read", cookie: badCookie(valid), path: "/get/string",
		wantStatus: 200, wantVary: true, wantBody: handlerMark, wantLookup: lookupNone,
	}, behaviour{
		name: "well-formed forged token, Set", cookie: badCookie(valid), path: "/set/string",
		wantStatus: 200, wantCookie: freshCookie, wantVary: true, wantLookup: lookupNone, wantSaves: 1,
		afterPath: "/get/string", afterBody: handlerMark + "fresh",
	})
	for _, bad := range []struct{ name, value string }{
		{"empty", ""},
		{"too short", valid[:42]},
		{"too long", valid + "A"},
		{"standard base64 characters", "+" + valid[1:42] + "/"},
		{"padded base64", valid[:42] + "="},
		{"padded 44 characters", valid + "="},
		{"non-canonical trailing bits", valid[:42] + "B"},
		{"43 exclamation marks", strings.Repeat("!", 43)},
	} {
		bs = append(bs, behaviour{
			name: "malformed cookie (" + bad.name + "), untouched", cookie: badCookie(bad.value), path: "/untouched/string",
			wantStatus: 200, wantBody: handlerMark, wantLookup: lookupNone,
		}, behaviour{
			name: "malformed cookie (" + bad.name + "), read", cookie: badCookie(bad.value), path: "/get/string",
			wantStatus: 200, wantVary: true, wantBody: handlerMark, wantLookup: lookupNone,
		}, behaviour{
			name: "malformed cookie (" + bad.name + "), Set", cookie: badCookie(bad.value), path: "/set/string",
			wantStatus: 200, wantCookie: freshCookie, wantVary: true, wantLookup: lookupNone, wantSaves: 1,
			afterPath: "/get/string", afterBody: handlerMark + "fresh",
		})
	}
	return bs
}

// TestBehaviour runs every behaviour against every engine, with and without
// the cache.
func TestBehaviour(t *testing.T) {
	for _, eng := range engines {
		for _, md := range modes {
			t.Run(eng.name+"/"+md.name, func(t *testing.T) {
				t.Parallel()
				for _, b := range behaviours() {
					t.Run(b.name, func(t *testing.T) {
						b.check(t, newFixture(t, eng, md.cfg))
					})
				}
			})
		}
	}
}

func (b behaviour) check(t *testing.T, f *fixture) {
	var sent *http.Cookie
	switch {
	case b.cookie.live:
		sent = f.login(t)
	case b.cookie.send:
		sent = &http.Cookie{Name: defaultCookie, Value: b.cookie.value}
	}
	if b.evict {
		f.m.PurgeCache()
	}
	f.store.Reset()
	lookups := f.cacheLookups()
	f.store.SetDown(b.storeDown)
	res := f.get(t, b.path, sent)
	f.store.SetDown(false)

	got := body(t, res)
	if res.StatusCode != b.wantStatus {
		t.Errorf("GET %s: status = %d, want %d; body %q", b.path, res.StatusCode, b.wantStatus, got)
	}
	set := checkCookie(t, res, sent, b.wantCookie)
	if v := hasVary(res); v != b.wantVary {
		t.Errorf("GET %s: Vary %q has Cookie = %v, want %v", b.path, res.Header.Values("Vary"), v, b.wantVary)
	}
	if ra := res.Header.Get("Retry-After"); (res.StatusCode == http.StatusServiceUnavailable) != (ra != "") {
		t.Errorf("GET %s: status %d with Retry-After %q; want Retry-After exactly on a 503", b.path, res.StatusCode, ra)
	}
	if b.wantBody != "" && !strings.Contains(got, b.wantBody) {
		t.Errorf("GET %s: body = %q, want it to contain %q", b.path, got, b.wantBody)
	}
	if b.wantNoHandlr && strings.Contains(got, handlerMark) {
		t.Errorf("GET %s: body = %q, want nothing the handler wrote", b.path, got)
	}
	n, c := f.store.Calls(storetest.Find), f.cacheLookups()-lookups
	if (b.wantLookup == lookupNone && n+int64(c) != 0) || (b.wantLookup == lookupSome && n+int64(c) == 0) {
		t.Errorf("GET %s: %d store and %d cache lookups, want %s", b.path, n, c, map[lookupWant]string{lookupNone: "none", lookupSome: "some"}[b.wantLookup])
	}
	if b.path == "/untouched/string" {
		if n := f.store.Calls(); n != 0 {
			t.Errorf("GET %s: %d store calls, want none", b.path, n)
		}
	}
	if n := f.store.Succeeded(storetest.Create, storetest.Update, storetest.Replace); b.wantSaves != anySaves && n != int64(b.wantSaves) {
		t.Errorf("GET %s: %d saves, want %d", b.path, n, b.wantSaves)
	}
	if err := f.probe.err(); !errors.Is(err, b.wantErr) || (err == nil) != (b.wantErr == nil) {
		t.Errorf("GET %s: handler saw error %v, want %v", b.path, err, b.wantErr)
	}

	if b.afterPath != "" {
		c := set
		if c == nil {
			c = sent
		}
		res := f.get(t, b.afterPath, c)
		if got := body(t, res); got != b.afterBody {
			t.Errorf("then GET %s: body = %q, want %q", b.afterPath, got, b.afterBody)
		}
		checkCookie(t, res, c, noCookie)
	}
	if b.oldDead {
		res := f.get(t, "/get/string", sent)
		if got := body(t, res); got != handlerMark {
			t.Errorf("then GET /get/string with the old cookie: body = %q, want %q", got, handlerMark)
		}
		checkCookie(t, res, sent, expiredCookie)
	}
}
