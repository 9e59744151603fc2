package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

// login makes a session of user through h and returns its token.
func (h *harness) login(user string) string {
	h.t.Helper()
	resp := h.do("", 200, func(s *core.Session) { s.Login(user) })
	if resp.err != nil || resp.cookie == nil {
		h.t.Fatalf("login %s: %v, cookie %v", user, resp.err, resp.cookie)
	}
	return resp.cookie.Value
}

// handleOf returns the handle of the session of token.
func (h *harness) handleOf(token string) string {
	var handle string
	h.do(token, 200, func(s *core.Session) { handle = s.Handle() })
	return handle
}

// A session's handle is random, neither its token nor its record id, and
// stays across renewals; the login time is recorded.
func TestHandleAndLoginTime(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("k", 1)
	handle := h.handleOf(token)
	if len(handle) != 22 || strings.Contains(token, handle) || strings.Contains(storage.RecordID(token), handle) {
		t.Fatalf("handle %q: want 22 random characters, not part of the token or its hash", handle)
	}
	var at time.Time
	renewed := h.do(token, 200, func(s *core.Session) {
		if !s.AuthenticatedAt().IsZero() {
			t.Error("an anonymous session has a login time")
		}
		s.Login("alice")
	}).cookie.Value
	h.do(renewed, 200, func(s *core.Session) {
		if s.Handle() != handle {
			t.Errorf("handle after Login = %q, want %q", s.Handle(), handle)
		}
		at = s.AuthenticatedAt()
		if at.IsZero() || time.Since(at) > time.Minute || !s.Fresh(time.Minute) || s.Fresh(-time.Second) {
			t.Errorf("AuthenticatedAt = %v, Fresh(1m) %v: want a login just now", at, s.Fresh(time.Minute))
		}
	})
	if h.handleOf(h.do(renewed, 200, func(s *core.Session) { s.Renew() }).cookie.Value) != handle {
		t.Error("handle changed with Renew")
	}
}

// Reads write the last-seen time at most once a minute (lastSeenInterval), alone
// (a Touch), and never a save.
func TestLastSeenThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{})
		token := h.login("alice")
		h.store.Reset()
		for range 100 {
			time.Sleep(900 * time.Millisecond) // 100 reads over 90 s
			h.do(token, 200, func(s *core.Session) { s.UserID() })
		}
		if n := h.store.Calls(storetest.Touch); n < 1 || n > 2 {
			t.Errorf("100 reads over 90 s wrote the last-seen time %d times, want 1 or 2", n)
		}
		if n := h.store.Calls(storetest.Update, storetest.Create, storetest.Replace); n != 0 {
			t.Errorf("100 reads made %d saves, want 0", n)
		}
		infos, err := h.m.UserSessions(t.Context(), "alice")
		if err != nil || len(infos) != 1 || time.Since(infos[0].LastSeenAt) > 31*time.Second {
			t.Errorf("UserSessions = %+v, %v; want one session seen within the last 31 s", infos, err)
		}
	})
}

// A user's sessions are listed most recently seen first, this one marked;
// Revoke ends one of the user's own, never another user's; RevokeOthers
// keeps this one.
func TestUserSessionsAndRevoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{})
		var tokens []string
		for range 3 {
			tokens = append(tokens, h.login("alice"))
			time.Sleep(time.Second)
		}
		bob := h.login("bob")
		h.do(tokens[0], 200, func(s *core.Session) { s.Set("seen", true) }) // the most recently seen now
		var infos []core.SessionInfo
		h.do(tokens[1], 200, func(s *core.Session) {
			var err error
			if infos, err = s.UserSessions(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
		want := []string{h.handleOf(tokens[0]), h.handleOf(tokens[2]), h.handleOf(tokens[1])}
		var got []string
		for _, in := range infos {
			got = append(got, in.Handle)
			if in.Current != (in.Handle == want[2]) {
				t.Errorf("session %s: Current = %v", in.Handle, in.Current)
			}
			if in.IP != "192.0.2.1" {
				t.Errorf("session %s: IP %q, want the peer's 192.0.2.1", in.Handle, in.IP)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("UserSessions handles = %q, want %q (most recently seen first)", got, want)
		}
		h.do(tokens[1], 200, func(s *core.Session) {
			if ok, err := s.Revoke(t.Context(), h.handleOf(bob)); ok || err != nil {
				t.Errorf("Revoke of another user's session = %v, %v; want false, nil", ok, err)
			}
			if ok, err := s.Revoke(t.Context(), want[1]); !ok || err != nil {
				t.Errorf("Revoke = %v, %v; want true, nil", ok, err)
			}
			if ok, _ := s.Revoke(t.Context(), want[1]); ok {
				t.Error("a second Revoke of the same session reported ending it")
			}
		})
		if h.handleOf(tokens[2]) != "" || h.handleOf(bob) == "" {
			t.Error("Revoke ended the wrong session")
		}
		h.do(tokens[1], 200, func(s *core.Session) {
			if n, err := s.RevokeOthers(t.Context()); n != 1 || err != nil {
				t.Errorf("RevokeOthers = %d, %v; want 1, nil", n, err)
			}
		})
		if h.handleOf(tokens[0]) != "" || h.handleOf(tokens[1]) == "" {
			t.Error("RevokeOthers ended the wrong sessions")
		}
		// Revoking its own session is a logout: the cookie is expired.
		resp := h.do(tokens[1], 200, func(s *core.Session) {
			if ok, err := s.Revoke(t.Context(), s.Handle()); !ok || err != nil {
				t.Errorf("Revoke of itself = %v, %v; want true, nil", ok, err)
			}
		})
		if resp.cookie == nil || resp.cookie.MaxAge >= 0 {
			t.Errorf("revoking itself: cookie %v, want expired", resp.cookie)
		}
	})
}

// The per-user cap ends the least recently seen session, or refuses the
// login with ErrTooManySessions.
func TestSessionCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{MaxSessionsPerUser: 2})
		first, second := h.login("alice"), h.login("alice")
		time.Sleep(time.Second)
		h.do(first, 200, func(s *core.Session) { s.Set("k", 1) }) // second is now the least recently seen
		third := h.login("alice")
		if h.handleOf(second) != "" || h.handleOf(first) == "" || h.handleOf(third) == "" {
			t.Error("the cap did not end exactly the least recently seen session")
		}
		// A login of a session of the user that is already counted ends
		// nothing.
		h.do(first, 200, func(s *core.Session) { s.Login("alice") })
		if infos, _ := h.m.UserSessions(t.Context(), "alice"); len(infos) != 2 {
			t.Errorf("after a re-login: %d sessions, want 2", len(infos))
		}
	})
	h := newHarness(t, core.Config{MaxSessionsPerUser: 1, SessionCapPolicy: core.CapRefuse})
	h.login("alice")
	resp := h.do("", 200, func(s *core.Session) {
		s.Login("alice")
		if err := s.Save(t.Context()); !errors.Is(err, core.ErrTooManySessions) || core.StatusCode(err) != http.StatusForbidden {
			t.Errorf("Save of a login past the cap = %v, want ErrTooManySessions (403)", err)
		}
	})
	if resp.cookie != nil {
		t.Errorf("a refused login set a cookie: %v", resp.cookie)
	}
	if infos, _ := h.m.UserSessions(t.Context(), "alice"); len(infos) != 1 {
		t.Errorf("after a refused login: %d sessions, want 1", len(infos))
	}
}

// recorder collects hook events.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) hook(kind string) func(core.Event) {
	return func(e core.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, kind+":"+string(e.Reason)+":"+e.UserID+":"+e.Handle)
	}
}

func (r *recorder) hooks() core.Hooks {
	return core.Hooks{Created: r.hook("created"), Renewed: r.hook("renewed"), Destroyed: r.hook("destroyed"), Expired: r.hook("expired")}
}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// Each hook fires once per event, with two managers on one store racing
// to destroy the same sessions and to clean up.
func TestHooksOncePerEvent(t *testing.T) {
	var rec recorder
	store := memstore.New()
	var hs []*harness
	for range 2 {
		m, err := core.NewManager(store, core.Config{Hooks: rec.hooks(), Lifetime: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, &harness{t: t, m: m, store: storetest.NewFaulty(store), logs: &syncBuffer{}})
	}
	token := hs[0].newSession("k", 1)
	renewed := hs[1].do(token, 200, func(s *core.Session) { s.Login("alice") }).cookie.Value
	if rec.count("created:") != 1 || rec.count("renewed:") != 1 {
		t.Errorf("events %q: want one created, one renewed", rec.events)
	}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() { h.do(renewed, 200, func(s *core.Session) { s.Destroy(context.Background()) }) })
	}
	wg.Wait()
	if n := rec.count("destroyed:logout:alice:"); n != 1 {
		t.Errorf("two instances destroying one session: %d destroyed events, want 1 (%q)", n, rec.events)
	}
	for range 5 {
		hs[0].login("bob")
	}
	time.Sleep(1100 * time.Millisecond) // the sessions expire
	ctx, cancel := context.WithCancel(t.Context())
	for _, h := range hs {
		wg.Go(func() { h.m.RunCleanup(ctx, time.Hour) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.count("expired:") < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := rec.count("expired::bob:"); n != 5 {
		t.Errorf("two cleanups of 5 expired sessions: %d expired events, want 5", n)
	}
	for range 3 {
		hs[1].login("carol")
	}
	if n, err := hs[0].m.LogoutEveryone(t.Context()); n != 3 || err != nil {
		t.Errorf("LogoutEveryone = %d, %v; want 3, nil", n, err)
	}
	if n := rec.count("destroyed:everyone:carol:"); n != 3 {
		t.Errorf("LogoutEveryone: %d events, want 3", n)
	}
}

// The client's address and user agent are kept, truncated, and the
// address as a keyed hash when IPHashKey is set; ClientIP chooses it.
func TestClientDetails(t *testing.T) {
	for _, c := range []struct {
		name   string
		cfg    core.Config
		wantIP func(string) bool
	}{
		{"peer", core.Config{}, func(ip string) bool { return ip == "203.0.113.9" }},
		{"header", core.Config{ClientIP: func(r *http.Request) string { return r.Header.Get("X-Real-IP") }}, func(ip string) bool { return ip == "198.51.100.7" }},
		{"hashed", core.Config{IPHashKey: []byte("k")}, func(ip string) bool { return len(ip) == 32 && !strings.Contains(ip, "203") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.cfg)
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = "203.0.113.9:4711"
			r.Header.Set("X-Real-IP", "198.51.100.7")
			r.Header.Set("User-Agent", strings.Repeat("é", 300))
			s, _ := h.m.Begin(r)
			s.Login("alice")
			if err := s.Commit(http.Header{}, 200); err != nil {
				t.Fatal(err)
			}
			infos, err := h.m.UserSessions(t.Context(), "alice")
			if err != nil || len(infos) != 1 {
				t.Fatalf("UserSessions = %v, %v", infos, err)
			}
			if !c.wantIP(infos[0].IP) {
				t.Errorf("IP = %q", infos[0].IP)
			}
			if ua := infos[0].UserAgent; len(ua) > 256 || !strings.HasPrefix(ua, "éé") || strings.ContainsRune(ua, '\uFFFD') {
				t.Errorf("UserAgent = %q (%d bytes): want at most 256 bytes, cut at a rune", ua, len(ua))
			}
		})
	}
}

// RequireFresh answers 401 without a login, 403 after an old one, and lets
// a fresh one through.
func TestRequireFresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, core.Config{})
		handler := h.m.Middleware(h.m.RequireFresh(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok"))
		})))
		get := func(token string) int {
			r := httptest.NewRequest(http.MethodPost, "/sensitive", nil)
			if token != "" {
				r.AddCookie(&http.Cookie{Name: "session", Value: token})
			}
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			return w.Code
		}
		token := h.login("alice")
		if code := get(""); code != http.StatusUnauthorized {
			t.Errorf("no session: %d, want 401", code)
		}
		if code := get(token); code != http.StatusOK {
			t.Errorf("fresh login: %d, want 200", code)
		}
		time.Sleep(2 * time.Minute)
		if code := get(token); code != http.StatusForbidden {
			t.Errorf("login 2 minutes ago: %d, want 403", code)
		}
	})
}

// SessionInfo's JSON is the contract's entry of GET /sessions.
func TestSessionInfoJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b, err := json.Marshal(core.SessionInfo{Handle: "h", Current: true, CreatedAt: at, LastSeenAt: at, IP: "ip", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"h","current":true,"created_at":"2026-12-01T10:00:00Z","last_seen_at":"2026-12-01T10:00:00Z","ip":"ip","user_agent":"ua"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

// An anonymous session has no list of sessions and ends none but its own:
// ErrNotLoggedIn (401), so that a handler needs no check of its own.
func TestDevicesAnonymous(t *testing.T) {
	h := newHarness(t, core.Config{})
	h.do("", 200, func(s *core.Session) {
		if _, err := s.UserSessions(t.Context()); !errors.Is(err, core.ErrNotLoggedIn) {
			t.Errorf("UserSessions = %v, want ErrNotLoggedIn", err)
		}
		if _, err := s.Revoke(t.Context(), "x"); !errors.Is(err, core.ErrNotLoggedIn) {
			t.Errorf("Revoke = %v, want ErrNotLoggedIn", err)
		}
		if _, err := s.RevokeOthers(t.Context()); !errors.Is(err, core.ErrNotLoggedIn) || core.StatusCode(err) != http.StatusUnauthorized {
			t.Errorf("RevokeOthers = %v, want ErrNotLoggedIn (401)", err)
		}
	})
}

// Destroy wins for a revoke too: a request of the revoked session that
// saves after the revoke gets a fresh, anonymous session, never the old
// one back and never the old user.
func TestRevokeWinsOverALateSave(t *testing.T) {
	h := newHarness(t, core.Config{})
	a, b := h.login("alice"), h.login("alice")
	handleB := h.handleOf(b)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: b})
	late, _ := h.m.Begin(r)
	if late.UserID() != "alice" {
		t.Fatal("b is not logged in")
	}
	h.do(a, 200, func(s *core.Session) {
		if ok, err := s.Revoke(t.Context(), handleB); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
	})
	late.Set("cart", "1 book")
	hdr := http.Header{}
	if err := late.Commit(hdr, 200); err != nil {
		t.Fatalf("the late save failed: %v", err)
	}
	var fresh string
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		fresh = c.Value
	}
	if fresh == "" || fresh == b {
		t.Fatalf("late save: cookie %q, want a new token", fresh)
	}
	h.do(fresh, 200, func(s *core.Session) {
		if s.UserID() != "" || core.GetOr(s, "cart", "") != "1 book" {
			t.Errorf("the late save's session: user %q, cart %q; want anonymous with the cart", s.UserID(), core.GetOr(s, "cart", ""))
		}
	})
	if h.handleOf(b) != "" {
		t.Error("the revoked session came back")
	}
	if infos, _ := h.m.UserSessions(t.Context(), "alice"); len(infos) != 1 {
		t.Errorf("alice has %d sessions after the revoke and the late save, want 1", len(infos))
	}
}

// A logout that reads nothing first costs one store call, the delete,
// which returns what the Destroyed event reports.
func TestDestroyWithoutLoad(t *testing.T) {
	var rec recorder
	h := newHarness(t, core.Config{Hooks: rec.hooks(), Cache: core.CacheOptions{TTL: -1}})
	token := h.login("alice")
	handle := h.handleOf(token)
	h.store.Reset()
	h.do(token, 200, func(s *core.Session) {
		if err := s.Destroy(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if n, d := h.store.Calls(), h.store.Calls(storetest.Delete); n != 1 || d != 1 {
		t.Errorf("logout: %d store calls, %d deletes; want the one delete", n, d)
	}
	if n := rec.count("destroyed:logout:alice:" + handle); n != 1 {
		t.Errorf("events %q: want one logout of alice's session %s", rec.events, handle)
	}
}
