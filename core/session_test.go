package core_test

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
)

func TestUntouchedSessionCostsNothing(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("a", 1)
	before := h.store.Calls()
	resp := h.do(token, 200, func(*core.Session) {})
	if got := h.store.Calls() - before; got != 0 {
		t.Errorf("store calls for an untouched session = %d, want 0", got)
	}
	if len(resp.header) != 0 {
		t.Errorf("headers for an untouched session = %v, want none", resp.header)
	}
}

func TestNewEmptySessionIsNeverSaved(t *testing.T) {
	h := newHarness(t, core.Config{})
	resp := h.do("", 200, func(s *core.Session) {
		if _, ok := s.Get("x"); ok {
			t.Error("Get on a new session found a value")
		}
	})
	if resp.cookie != nil {
		t.Errorf("cookie = %v, want none for an empty new session", resp.cookie)
	}
	if got := h.store.Calls(); got != 0 {
		t.Errorf("store calls = %d, want 0", got)
	}
	if got := resp.header.Get("Vary"); got != "Cookie" {
		t.Errorf("Vary = %q, want Cookie on a response that read the session", got)
	}
}

func TestCookieAttributes(t *testing.T) {
	h := newHarness(t, core.Config{})
	resp := h.do("", 200, func(s *core.Session) { s.Set("k", "v") })
	c := resp.cookie
	if c == nil {
		t.Fatal("no session cookie set")
	}
	if len(c.Value) != 43 || strings.ContainsAny(c.Value, "+/=") {
		t.Errorf("token %q is not 43 chars of unpadded base64url", c.Value)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, not Secure", c)
	}
	if want := int(core.DefaultLifetime.Seconds()); c.MaxAge < want-5 || c.MaxAge > want {
		t.Errorf("Max-Age = %d, want about %d", c.MaxAge, want)
	}
	if got := resp.header.Get("Cache-Control"); got != `no-cache="Set-Cookie"` {
		t.Errorf("Cache-Control = %q, want no-cache=\"Set-Cookie\"", got)
	}
}

func TestCookieOptions(t *testing.T) {
	h := newHarness(t, core.Config{
		CookieName: "sid", CookieDomain: "example.com", CookiePath: "/app",
		CookieSecure: true, CookieSameSite: http.SameSiteStrictMode, CookiePartitioned: true,
		BrowserSessionCookies: true,
	})
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	s, _ := h.m.Begin(r)
	s.Set("k", 1)
	hdr := http.Header{}
	if err := s.Commit(hdr, 200); err != nil {
		t.Fatal(err)
	}
	got := hdr.Get("Set-Cookie")
	for _, want := range []string{"sid=", "Domain=example.com", "Path=/app", "Secure", "HttpOnly", "SameSite=Strict", "Partitioned"} {
		mustContain(t, got, want)
	}
	if strings.Contains(got, "Max-Age") || strings.Contains(got, "Expires") {
		t.Errorf("Set-Cookie = %q, want a browser-session cookie", got)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
	}{
		{"SameSite None without Secure", core.Config{CookieSameSite: http.SameSiteNoneMode}},
		{"Partitioned without Secure", core.Config{CookiePartitioned: true}},
		{"bad cookie name", core.Config{CookieName: "a b"}},
		{"tiny lifetime", core.Config{Lifetime: time.Millisecond}},
		{"negative idle", core.Config{IdleTimeout: -1}},
		{"refresh longer than idle", core.Config{IdleTimeout: time.Minute, IdleRefreshInterval: time.Hour}},
		{"negative max size", core.Config{MaxDataSize: -1}},
		{"negative cache entries", core.Config{Cache: core.CacheOptions{MaxEntries: -1}}},
		{"short token key", core.Config{TokenKeys: [][]byte{make([]byte, 16)}}},
		{"negative key refresh", core.Config{TokenKeyRefresh: -time.Second}},
		{"__Host- without Secure", core.Config{CookieName: "__Host-session"}},
		{"__Host- with a Domain", core.Config{CookieName: "__Host-session", CookieSecure: true, CookieDomain: "example.com"}},
		{"__Host- on a path", core.Config{CookieName: "__Host-session", CookieSecure: true, CookiePath: "/app"}},
		{"__host- any case", core.Config{CookieName: "__HOST-session", CookieSecure: true, CookiePath: "/app"}},
		{"__Secure- without Secure", core.Config{CookieName: "__Secure-session"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := core.NewManager(newHarness(t, core.Config{}).store, tc.cfg); err == nil {
				t.Error("NewManager accepted an invalid config")
			}
		})
	}
	if _, err := core.NewManager(nil, core.Config{}); err == nil {
		t.Error("NewManager accepted a nil store")
	}
	for _, cfg := range []core.Config{
		{CookieName: "__Host-session", CookieSecure: true},
		{CookieName: "__Secure-session", CookieSecure: true, CookieDomain: "example.com", CookiePath: "/app"},
	} {
		if _, err := core.NewManager(newHarness(t, core.Config{}).store, cfg); err != nil {
			t.Errorf("NewManager(%s) = %v; the prefix's rules are met", cfg.CookieName, err)
		}
	}
}

func TestMalformedCookieNeverReachesTheStore(t *testing.T) {
	h := newHarness(t, core.Config{})
	valid := h.newSession("a", 1)
	for _, bad := range []string{
		"", "x", valid[:42], valid + "A", valid[:42] + "=", strings.Repeat("!", 43),
		strings.Repeat("A", 42) + "B", // non-canonical: trailing bits set
		"../../etc/passwd", strings.Repeat("A", 4096),
	} {
		before := h.store.Calls()
		resp := h.do(bad, 200, func(s *core.Session) {
			if s.Has("a") {
				t.Errorf("cookie %.50q: session has a value", bad)
			}
		})
		if got := h.store.Calls() - before; got != 0 {
			t.Errorf("cookie %.50q: store calls = %d, want 0", bad, got)
		}
		if resp.err != nil {
			t.Errorf("cookie %.50q: commit error %v", bad, resp.err)
		}
	}
}

func TestUnknownTokenGetsANewToken(t *testing.T) {
	h := newHarness(t, core.Config{})
	forged := strings.Repeat("A", 43)
	resp := h.do(forged, 200, func(s *core.Session) { s.Set("a", 1) })
	if resp.cookie == nil || resp.cookie.Value == forged {
		t.Fatalf("cookie = %v; want a new token, never the forged one", resp.cookie)
	}
	// A forged token is junk: never used, and never expired, since the
	// user's real cookie may be the one a browser would drop.
	resp = h.do(forged, 200, func(s *core.Session) { s.Has("a") })
	if resp.cookie != nil {
		t.Errorf("forged token, read only: cookie = %v, want none", resp.cookie)
	}
	// A token this manager issued whose record is gone drops the cookie.
	gone := h.newSession("a", 1)
	if resp := h.do(gone, 200, func(s *core.Session) { s.Destroy(t.Context()) }); resp.err != nil {
		t.Fatal(resp.err)
	}
	resp = h.do(gone, 200, func(s *core.Session) { s.Has("a") })
	if resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("unknown token: cookie = %v, want an expired cookie", resp.cookie)
	}
}

type point struct{ X, Y int }

func init() { gob.Register(point{}) }

func TestValuesRoundTrip(t *testing.T) {
	for _, codec := range []core.Codec{core.JSONCodec{}, core.GobCodec{}} {
		h := newHarness(t, core.Config{Codec: codec, Cache: core.CacheOptions{TTL: -1}})
		token := h.do("", 200, func(s *core.Session) {
			s.Set("int", 42)
			s.Set("big", int64(math.MaxInt64))
			s.Set("beyond53", int64(1<<53+1))
			s.Set("uint", uint64(math.MaxUint64))
			s.Set("float", 1.5)
			s.Set("str", "héllo, 世界 \u2028 \x00")
			s.Set("bytes", []byte{0, 0xff, 0x80, '\n'})
			s.Set("point", point{3, 4})
			s.Set("list", []string{"a", "b"})
		}).cookie.Value
		h.do(token, 200, func(s *core.Session) {
			t.Run(codecName(codec), func(t *testing.T) {
				check(t, s, "int", 42)
				check(t, s, "big", int64(math.MaxInt64))
				check(t, s, "beyond53", int64(1<<53+1))
				check(t, s, "uint", uint64(math.MaxUint64))
				check(t, s, "float", 1.5)
				check(t, s, "str", "héllo, 世界 \u2028 \x00")
				if got, _ := core.Get[[]byte](s, "bytes"); string(got) != "\x00\xff\x80\n" {
					t.Errorf("Get[[]byte] = %q, want byte-exact", got)
				}
				check(t, s, "point", point{3, 4})
				if got, _ := core.Get[[]string](s, "list"); len(got) != 2 || got[1] != "b" {
					t.Errorf("Get[[]string] = %v", got)
				}
				// An untyped read of a stored whole number is an int, not a float64.
				if v, _ := s.Get("int"); v != 42 {
					t.Errorf("Get(int) = %#v, want int 42", v)
				}
				if _, ok := core.Get[int](s, "str"); ok {
					t.Error("Get[int] of a string reported ok")
				}
			})
		})
	}
}

func codecName(c core.Codec) string {
	if _, ok := c.(core.JSONCodec); ok {
		return "json"
	}
	return "gob"
}

func check[T comparable](t *testing.T, s *core.Session, key string, want T) {
	t.Helper()
	got, ok := core.Get[T](s, key)
	if !ok || got != want {
		t.Errorf("Get[%T](%q) = %v, %v; want %v, true", want, key, got, ok, want)
	}
}

func TestSessionAPI(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.do("", 200, func(s *core.Session) {
		s.Set("b", 2)
		s.Set("a", 1)
		s.Set("c", 3)
		s.Delete("c")
		s.Delete("missing")
		s.AddFlash("one")
		s.AddFlash("two")
	}).cookie.Value
	h.do(token, 200, func(s *core.Session) {
		if got := strings.Join(s.Keys(), ","); got != "_flash,a,b" {
			t.Errorf("Keys = %s, want _flash,a,b", got)
		}
		if !s.Has("a") || s.Has("c") {
			t.Errorf("Has(a) = %v, Has(c) = %v; want true, false", s.Has("a"), s.Has("c"))
		}
		if got := strings.Join(s.Flashes(), ","); got != "one,two" {
			t.Errorf("Flashes = %q, want one,two", got)
		}
		if n, ok := core.Pop[int](s, "b"); !ok || n != 2 {
			t.Errorf("Pop(b) = %v, %v; want 2, true", n, ok)
		}
		if got := core.GetOr(s, "zzz", 7); got != 7 {
			t.Errorf("GetOr default = %d, want 7", got)
		}
	})
	h.do(token, 200, func(s *core.Session) {
		if s.Flashes() != nil || s.Has("b") {
			t.Errorf("flashes or popped value survived: keys %v", s.Keys())
		}
		s.Clear()
	})
	h.do(token, 200, func(s *core.Session) {
		if keys := s.Keys(); len(keys) != 0 {
			t.Errorf("Keys after Clear = %v, want none", keys)
		}
	})
}

func TestConcurrentUseWithinOneRequest(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.do("", 200, func(s *core.Session) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s.Set(string(rune('a'+i)), i)
				core.Get[int](s, "a")
				s.Keys()
			})
		}
		wg.Wait()
	}).cookie.Value
	h.do(token, 200, func(s *core.Session) {
		if n := len(s.Keys()); n != 16 {
			t.Errorf("keys = %d, want 16", n)
		}
	})
}

func TestRenewKeepsDataAndKillsOldToken(t *testing.T) {
	h := newHarness(t, core.Config{})
	old := h.newSession("cart", "apples")
	var deadline time.Time
	resp := h.do(old, 200, func(s *core.Session) { s.Renew() })
	if resp.cookie == nil || resp.cookie.Value == old {
		t.Fatalf("cookie after Renew = %v, want a new token", resp.cookie)
	}
	deadline = resp.cookie.Expires
	h.do(resp.cookie.Value, 200, func(s *core.Session) { check(t, s, "cart", "apples") })
	h.do(old, 200, func(s *core.Session) {
		if s.Has("cart") {
			t.Error("the old token still reads the session")
		}
	})
	// Renewal never extends the absolute lifetime.
	time.Sleep(1100 * time.Millisecond)
	again := h.do(resp.cookie.Value, 200, func(s *core.Session) { s.Renew() })
	if !again.cookie.Expires.Equal(deadline) {
		t.Errorf("Expires after a second Renew = %v, want unchanged %v", again.cookie.Expires, deadline)
	}
}

func TestLoginRenewsAndRestartsLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{Lifetime: time.Hour})
		old := h.newSession("cart", 1)
		time.Sleep(50 * time.Minute)
		resp := h.do(old, 200, func(s *core.Session) { s.Login("alice") })
		if resp.cookie == nil || resp.cookie.Value == old {
			t.Fatalf("cookie after Login = %v, want a new token", resp.cookie)
		}
		if resp.cookie.MaxAge != 3600 {
			t.Errorf("Max-Age after Login = %d, want 3600 (lifetime restarted)", resp.cookie.MaxAge)
		}
		time.Sleep(30 * time.Minute) // past the first deadline
		h.do(resp.cookie.Value, 200, func(s *core.Session) {
			if s.UserID() != "alice" {
				t.Errorf("UserID = %q, want alice", s.UserID())
			}
			check(t, s, "cart", 1)
		})
	})
}

func TestAbsoluteExpiryIsNeverServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{Lifetime: time.Hour})
		token := h.newSession("a", 1)
		h.do(token, 200, func(s *core.Session) { check(t, s, "a", 1) }) // now cached
		time.Sleep(time.Hour)
		h.do(token, 200, func(s *core.Session) {
			if s.Has("a") {
				t.Error("an expired session was served")
			}
		})
	})
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{IdleTimeout: 10 * time.Minute, IdleRefreshInterval: time.Minute})
		token := h.newSession("a", 1)
		// Reads within the refresh interval write nothing.
		before := h.store.Calls()
		time.Sleep(30 * time.Second)
		h.do(token, 200, func(s *core.Session) { check(t, s, "a", 1) })
		if got := h.store.Calls() - before; got != 0 {
			t.Errorf("store calls for a cached read within the refresh interval = %d, want 0", got)
		}
		// Activity keeps the session alive past the first idle window.
		for range 4 {
			time.Sleep(5 * time.Minute)
			h.do(token, 200, func(s *core.Session) { check(t, s, "a", 1) })
		}
		// Idleness ends it.
		time.Sleep(10 * time.Minute)
		h.do(token, 200, func(s *core.Session) {
			if s.Has("a") {
				t.Error("an idle-expired session was served")
			}
		})
	})
}

func TestIdleRefreshWritesOnlyTheExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{IdleTimeout: 10 * time.Minute})
		token := h.newSession("a", 1)
		time.Sleep(2 * time.Minute)
		h.do(token, 200, func(s *core.Session) { s.Has("a") })
		rec, found, _ := h.store.Next().Find(context.Background(), storage.RecordID(token), time.Now())
		if !found || rec.Version != 1 {
			t.Errorf("after an idle refresh: found %v, version %d; want the same version 1", found, rec.Version)
		}
		if want := time.Now().Add(10 * time.Minute); !rec.ExpiresAt.Equal(want.UTC().Truncate(time.Microsecond)) {
			t.Errorf("ExpiresAt = %v, want %v", rec.ExpiresAt, want)
		}
	})
}

func TestDestroy(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("a", 1)
	resp := h.do(token, 200, func(s *core.Session) {
		if err := s.Destroy(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s.Has("a") {
			t.Error("value survived Destroy")
		}
	})
	if resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("cookie after Destroy = %v, want it expired", resp.cookie)
	}
	if _, found, _ := h.store.Next().Find(context.Background(), storage.RecordID(token), time.Now()); found {
		t.Error("record survived Destroy")
	}
	// Setting a value after Destroy starts a new session with a new token.
	resp = h.do(token, 200, func(s *core.Session) {
		s.Destroy(context.Background())
		s.Set("b", 2)
	})
	if resp.cookie == nil || resp.cookie.Value == token || resp.cookie.MaxAge <= 0 {
		t.Errorf("cookie = %v, want a new persistent token", resp.cookie)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	h := newHarness(t, core.Config{})
	var tokens []string
	for range 3 {
		tokens = append(tokens, h.do("", 200, func(s *core.Session) { s.Login("bob") }).cookie.Value)
	}
	other := h.do("", 200, func(s *core.Session) { s.Login("carol") }).cookie.Value
	for _, tok := range tokens { // warm the cache
		h.do(tok, 200, func(s *core.Session) { s.UserID() })
	}
	resp := h.do(tokens[0], 200, func(s *core.Session) {
		n, err := s.LogoutEverywhere(context.Background())
		if err != nil || n != 3 {
			t.Errorf("LogoutEverywhere = %d, %v; want 3, nil", n, err)
		}
	})
	if resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("cookie = %v, want expired", resp.cookie)
	}
	for _, tok := range tokens {
		h.do(tok, 200, func(s *core.Session) {
			if s.UserID() != "" {
				t.Error("a session of the user survived LogoutEverywhere")
			}
		})
	}
	h.do(other, 200, func(s *core.Session) {
		if s.UserID() != "carol" {
			t.Errorf("another user's session: UserID %q, want carol", s.UserID())
		}
	})
}

// An anonymous session's LogoutEverywhere destroys the session alone: its old
// token reads nothing afterwards.
func TestLogoutEverywhereAnonymous(t *testing.T) {
	h := newHarness(t, core.Config{Cache: core.CacheOptions{TTL: -1}})
	token := h.newSession("a", 1)
	resp := h.do(token, 200, func(s *core.Session) {
		if n, err := s.LogoutEverywhere(t.Context()); err != nil || n != 0 {
			t.Errorf("LogoutEverywhere = %d, %v; want 0, nil", n, err)
		}
	})
	if resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("cookie = %v, want expired", resp.cookie)
	}
	h.do(token, 200, func(s *core.Session) {
		if s.Has("a") {
			t.Error("the old token still reads the session")
		}
	})
}

func TestPersistence(t *testing.T) {
	h := newHarness(t, core.Config{})
	resp := h.do("", 200, func(s *core.Session) { s.Login("a"); s.SetPersistent(false) })
	if resp.cookie.MaxAge != 0 || !resp.cookie.Expires.IsZero() {
		t.Errorf("cookie = %v, want a browser-session cookie", resp.cookie)
	}
	token := resp.cookie.Value
	if resp := h.do(token, 200, func(s *core.Session) { s.Set("x", 1) }); resp.cookie != nil {
		t.Errorf("cookie rewritten on a plain save: %v", resp.cookie)
	}
	resp = h.do(token, 200, func(s *core.Session) { s.SetPersistent(true) })
	if resp.cookie == nil || resp.cookie.Value != token || resp.cookie.MaxAge <= 0 {
		t.Errorf("cookie after SetPersistent(true) = %v, want the same token, persistent", resp.cookie)
	}
}

func TestNothingSavedAfterServerError(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("n", 1)
	h.do(token, http.StatusInternalServerError, func(s *core.Session) { s.Set("n", 2) })
	h.do(token, 200, func(s *core.Session) { check(t, s, "n", 1) })
	if resp := h.do("", 503, func(s *core.Session) { s.Set("n", 1) }); resp.cookie != nil {
		t.Errorf("a new session was created by a 503 response: %v", resp.cookie)
	}
}

func TestSaveEveryRequest(t *testing.T) {
	h := newHarness(t, core.Config{SaveEveryRequest: true})
	token := h.newSession("n", 1)
	h.do(token, 200, func(*core.Session) {})
	h.do(token, 200, func(*core.Session) {})
	rec, _, _ := h.store.Next().Find(context.Background(), storage.RecordID(token), time.Now())
	if rec.Version != 3 {
		t.Errorf("version = %d, want 3 after two untouched requests", rec.Version)
	}
}

func TestFailingStore(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("n", 1)
	h.store.SetDown(true)
	t.Run("explicit save returns the error", func(t *testing.T) {
		h.do("", 200, func(s *core.Session) {
			s.Set("a", 1)
			if err := s.Save(context.Background()); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Save = %v, want ErrUnavailable", err)
			}
		})
	})
	t.Run("commit fails and sets no cookie", func(t *testing.T) {
		resp := h.do("", 200, func(s *core.Session) { s.Set("a", 1) })
		if !errors.Is(resp.err, core.ErrUnavailable) || resp.cookie != nil {
			t.Errorf("commit = %v, cookie %v; want ErrUnavailable and no cookie", resp.err, resp.cookie)
		}
		if got := core.StatusCode(resp.err); got != 503 {
			t.Errorf("StatusCode = %d, want 503", got)
		}
	})
	t.Run("a cached read still answers", func(t *testing.T) {
		resp := h.do(token, 200, func(s *core.Session) { check(t, s, "n", 1) })
		if resp.err != nil {
			t.Errorf("commit of a cached read = %v, want nil", resp.err)
		}
	})
	t.Run("an uncached read fails the request", func(t *testing.T) {
		h.m.Cache().Purge()
		resp := h.do(token, 200, func(s *core.Session) {
			if s.Has("n") {
				t.Error("value served although the store failed")
			}
			if !errors.Is(s.Err(), core.ErrUnavailable) {
				t.Errorf("Err = %v, want ErrUnavailable", s.Err())
			}
		})
		if !errors.Is(resp.err, core.ErrUnavailable) {
			t.Errorf("commit = %v, want ErrUnavailable so the response is not a false 401", resp.err)
		}
	})
	t.Run("destroy returns the error", func(t *testing.T) {
		h.do(token, 200, func(s *core.Session) {
			if err := s.Destroy(context.Background()); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Destroy = %v, want ErrUnavailable", err)
			}
		})
	})
	h.store.SetDown(false)
	h.do(token, 200, func(s *core.Session) { check(t, s, "n", 1) })
}

func TestTooLarge(t *testing.T) {
	h := newHarness(t, core.Config{MaxDataSize: 1024})
	resp := h.do("", 200, func(s *core.Session) { s.Set("big", strings.Repeat("x", 2000)) })
	if !errors.Is(resp.err, core.ErrTooLarge) || resp.cookie != nil {
		t.Errorf("commit = %v, cookie %v; want ErrTooLarge and no cookie", resp.err, resp.cookie)
	}
	resp = h.do("", 200, func(s *core.Session) { s.Set("f", func() {}) })
	if !errors.Is(resp.err, core.ErrEncode) {
		t.Errorf("commit of an unencodable value = %v, want ErrEncode", resp.err)
	}
}

func TestCorruptDataIsAnEmptySession(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("a", 1)
	ctx := context.Background()
	rec, _, _ := h.store.Next().Find(ctx, storage.RecordID(token), time.Now())
	rec.Data = []byte("\x01\xff\xff garbage")
	if err := h.store.Next().Update(ctx, rec, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.m.Cache().Purge()
	for range 3 { // the first read logs; the cached copy is read quietly
		h.do(token, 200, func(s *core.Session) {
			if len(s.Keys()) != 0 {
				t.Errorf("keys of corrupt data = %v, want none", s.Keys())
			}
		})
	}
	if n := strings.Count(h.logs.String(), "starting with an empty session"); n != 1 {
		t.Errorf("corrupt data logged %d times in 3 requests, want once", n)
	}
	resp := h.do(token, 200, func(s *core.Session) {
		if len(s.Keys()) != 0 || s.Err() != nil {
			t.Errorf("keys %v, err %v; want an empty session and no error", s.Keys(), s.Err())
		}
		s.Set("b", 2)
	})
	if resp.err != nil {
		t.Fatalf("commit = %v", resp.err)
	}
	mustContain(t, h.logs.String(), "session data corrupt")
	h.do(token, 200, func(s *core.Session) {
		if got := strings.Join(s.Keys(), ","); got != "b" {
			t.Errorf("keys after saving over corrupt data = %s, want b", got)
		}
	})
}

func TestConcurrentChangesMerge(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.do("", 200, func(s *core.Session) { s.Set("keep", 1); s.Set("gone", 1) }).cookie.Value
	// Two requests load the same version, then commit one after the other.
	r1, r2 := h.begin(token), h.begin(token)
	r1.Set("a", 1)
	r2.Has("a")
	r2.Set("b", 2)
	r2.Delete("gone")
	for _, s := range []*core.Session{r1, r2} {
		if err := s.Commit(http.Header{}, 200); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	h.do(token, 200, func(s *core.Session) {
		if got := strings.Join(s.Keys(), ","); got != "a,b,keep" {
			t.Errorf("keys after concurrent saves = %s, want a,b,keep", got)
		}
	})
}

// TestDestroyWinsOverAConcurrentSave: a request that loaded a session and
// saves after another request destroyed it does not bring it back, and is
// not failed for it: its changes start a fresh session with a new token.
func TestDestroyWinsOverAConcurrentSave(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("a", 1)
	late := h.begin(token)
	late.Has("a")
	h.do(token, 200, func(s *core.Session) { s.Destroy(context.Background()) })
	late.Set("b", 2)
	hdr := http.Header{}
	if err := late.Commit(hdr, 200); err != nil {
		t.Fatalf("late commit = %v, want nil (a fresh session)", err)
	}
	if _, found, _ := h.store.Next().Find(context.Background(), storage.RecordID(token), time.Now()); found {
		t.Error("a destroyed session was resurrected by a late save")
	}
	cookies := (&http.Response{Header: hdr}).Cookies()
	if len(cookies) != 1 || cookies[0].Value == token || cookies[0].Value == "" {
		t.Fatalf("late commit cookies = %v, want one with a new token", cookies)
	}
	h.do(cookies[0].Value, 200, func(s *core.Session) {
		if got := strings.Join(s.Keys(), ","); got != "b" {
			t.Errorf("fresh session keys = %q, want only the late change b", got)
		}
	})
}

func (h *harness) begin(token string) *core.Session {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: token})
	s, _ := h.m.Begin(r)
	return s
}

func TestCookieHeaderParsing(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("a", 1)
	for _, tc := range []struct {
		name    string
		headers []string
		want    bool
	}{
		{"alone", []string{"session=" + token}, true},
		{"among others", []string{"a=1; session=" + token + "; b=2"}, true},
		{"second header line", []string{"a=1", "b=2;session=" + token}, true},
		{"quoted", []string{`session="` + token + `"`}, true},
		{"spaces", []string{"  session=" + token + " ;x=y"}, true},
		{"other name", []string{"xsession=" + token}, false},
		{"junk first", []string{"session=bogus; session=" + token}, true},
		{"forged first", []string{"session=" + strings.Repeat("A", 43) + "; session=" + token}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header["Cookie"] = tc.headers
			s, _ := h.m.Begin(r)
			if got := s.Has("a"); got != tc.want {
				t.Errorf("session found = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCacheControlWithSetCookie(t *testing.T) {
	h := newHarness(t, core.Config{})
	for _, tc := range []struct{ set, want string }{
		{"", `no-cache="Set-Cookie"`},
		{"public, max-age=60", `public, max-age=60, no-cache="Set-Cookie"`},
		{"private", "private"},
		{"no-store", "no-store"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		s, _ := h.m.Begin(r)
		s.Set("a", 1)
		hdr := http.Header{}
		if tc.set != "" {
			hdr.Set("Cache-Control", tc.set)
		}
		if err := s.Commit(hdr, 200); err != nil {
			t.Fatal(err)
		}
		if got := hdr.Get("Cache-Control"); got != tc.want {
			t.Errorf("handler's Cache-Control %q: got %q, want %q", tc.set, got, tc.want)
		}
	}
}

// A failed idle refresh is logged and skipped: the read it rode on still
// succeeds. Logs name the record by a prefix of its hash, never the token.
func TestFailedIdleRefreshIsLoggedNotReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{IdleTimeout: 10 * time.Minute, IdleRefreshInterval: time.Minute})
		token := h.newSession("a", 1)
		h.do(token, 200, func(s *core.Session) { check(t, s, "a", 1) }) // cached
		time.Sleep(2 * time.Minute)                                     // a refresh is due
		h.store.SetDown(true)
		resp := h.do(token, 200, func(s *core.Session) { check(t, s, "a", 1) })
		if resp.err != nil {
			t.Errorf("commit = %v, want nil: the read succeeded", resp.err)
		}
		if h.store.Calls(storetest.Touch) != 1 {
			t.Errorf("touch calls = %d, want 1", h.store.Calls(storetest.Touch))
		}
		logs := h.logs.String()
		mustContain(t, logs, "session refresh failed")
		if id := storage.RecordID(token); strings.Contains(logs, token) || strings.Contains(logs, id) || !strings.Contains(logs, id[:12]) {
			t.Errorf("logs %q: want the record named by its hash prefix only, never the token or the whole hash", logs)
		}
	})
}

// StatusCode maps each sentinel to the status the docs give.
func TestStatusCode(t *testing.T) {
	for err, want := range map[error]int{
		core.ErrUnavailable: 503, core.ErrTooLarge: 413, core.ErrTooManySessions: 403,
		core.ErrNotLoggedIn: 401, core.ErrNotFresh: 403, core.ErrEncode: 500,
	} {
		if got := core.StatusCode(fmt.Errorf("wrapped: %w", err)); got != want {
			t.Errorf("StatusCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// A change after the commit (the response has started) is not lost
// silently: Save and Modify return ErrCommitted, and the change is logged
// once per request.
func TestChangeAfterCommit(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("k", 1)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: token})
	s, _ := h.m.Begin(r)
	s.Has("k")
	if err := s.Commit(http.Header{}, 200); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context()); err != nil {
		t.Errorf("Save with nothing to save after the commit = %v, want nil", err)
	}
	s.Set("k", 2)
	s.Set("k", 3)
	if err := s.Save(t.Context()); !errors.Is(err, core.ErrCommitted) {
		t.Errorf("Save after the commit = %v, want ErrCommitted", err)
	}
	if _, err := core.Modify(t.Context(), s, "n", func(n int, _ bool) int { return n + 1 }); !errors.Is(err, core.ErrCommitted) {
		t.Errorf("Modify after the commit = %v, want ErrCommitted", err)
	}
	if n := strings.Count(h.logs.String(), "session changed after the response started"); n != 1 {
		t.Errorf("%d log lines for the late changes of one request, want 1", n)
	}
	h.do(token, 200, func(s *core.Session) { check(t, s, "k", 1) })
}
