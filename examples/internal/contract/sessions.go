package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

// revokeBound is how soon a session revoked through one instance must be
// refused by another on the same PostgreSQL (examples/README.md).
const revokeBound = time.Second

// sessionEntry is one entry of GET /sessions, under the contract's names.
type sessionEntry struct {
	ID              string    `json:"id"`
	Current         bool      `json:"current"`
	CreatedAt       time.Time `json:"created_at"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	LastSeenAt      time.Time `json:"last_seen_at"`
	IP              string    `json:"ip"`
	UserAgent       string    `json:"user_agent"`
}

// sessionFields are the fields of an entry; authenticated_at may be
// missing (a session that never logged in), the others may not.
var sessionFields = []string{"id", "current", "created_at", "authenticated_at", "last_seen_at", "ip", "user_agent"}

// sessions is GET /sessions of c, checked against the contract: a 200
// JSON {"sessions": [...]} whose entries have exactly the contract's
// fields, times in RFC 3339, exactly one of them current, ids distinct
// and not the session's token.
func (c *client) sessions() []sessionEntry {
	c.t.Helper()
	t := c.t
	r := c.get("/sessions")
	r.wantStatus(t, http.StatusOK)
	r.wantJSONType(t)
	var raw struct {
		Sessions []map[string]json.RawMessage `json:"sessions"`
	}
	decode(t, r, &raw)
	if raw.Sessions == nil {
		t.Fatalf("GET /sessions = %s, want {\"sessions\": [...]}", r.body)
	}
	for _, e := range raw.Sessions {
		got := slices.Sorted(maps.Keys(e))
		want := slices.DeleteFunc(slices.Clone(sessionFields), func(f string) bool {
			_, ok := e[f]
			return f == "authenticated_at" && !ok
		})
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("GET /sessions entry has fields %q, want %q", got, want)
		}
	}
	var body struct {
		Sessions []sessionEntry `json:"sessions"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("GET /sessions = %s: %v (times must be RFC 3339)", r.body, err)
	}
	current, ids := 0, map[string]bool{}
	for _, e := range body.Sessions {
		if e.Current {
			current++
		}
		switch {
		case e.ID == "" || ids[e.ID]:
			t.Errorf("GET /sessions: id %q empty or listed twice", e.ID)
		case e.ID == c.token() || strings.Contains(c.token(), e.ID):
			t.Errorf("GET /sessions: id %q is (part of) the session token", e.ID)
		case e.CreatedAt.IsZero() || e.LastSeenAt.IsZero():
			t.Errorf("GET /sessions: entry %+v lacks created_at or last_seen_at", e)
		}
		ids[e.ID] = true
	}
	if current != 1 {
		t.Errorf("GET /sessions = %s: %d entries marked current, want 1", r.body, current)
	}
	return body.Sessions
}

// currentID is the id GET /sessions gives c's own session.
func (c *client) currentID() string {
	c.t.Helper()
	for _, e := range c.sessions() {
		if e.Current {
			return e.ID
		}
	}
	c.t.Fatal("GET /sessions lists no current session")
	return ""
}

// ids are the ids of entries, in order.
func ids(entries []sessionEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// login logs c in as user through the JSON API.
func (c *client) login(user string) {
	c.t.Helper()
	c.sendJSON("POST", "/login", map[string]string{"username": user}).want(c.t, http.StatusOK, fmt.Sprintf(`{"user":%q}`, user))
}

// wantLoggedIn checks GET /me of c: 200 as user, or 401 when user is "".
func (c *client) wantLoggedIn(user string) {
	c.t.Helper()
	if user == "" {
		c.get("/me").wantError(c.t, http.StatusUnauthorized)
		return
	}
	c.get("/me").want(c.t, http.StatusOK, fmt.Sprintf(`{"user":%q,"count":0}`, user))
}

// sessionCases are the contract's routes of sessions a user can see and
// end: GET /sessions, DELETE /sessions/{id} (and the page's POST
// /sessions/{id}/revoke), POST /logout-others and POST /sensitive.
var sessionCases = []testCase{
	{"sessions/list and revoke another", func(t *testing.T, srv *httptest.Server) {
		const user = "sam"
		laptop, phone := newClient(t, srv), newClient(t, srv)
		laptop.userAgent, phone.userAgent = "contract laptop", "contract phone"
		laptop.login(user)
		phone.login(user)

		// Most recently seen first: the phone logged in last, and reads
		// move last_seen_at at most once a minute.
		list := laptop.sessions()
		if len(list) != 2 {
			t.Fatalf("GET /sessions lists %d sessions, want the laptop's and the phone's", len(list))
		}
		phoneEntry, laptopEntry := list[0], list[1]
		if phoneEntry.Current || !laptopEntry.Current || phoneEntry.UserAgent != phone.userAgent || laptopEntry.UserAgent != laptop.userAgent {
			t.Errorf("the laptop's GET /sessions = %+v, want the phone's session first, then its own marked current", list)
		}
		for _, e := range list {
			if e.IP != "127.0.0.1" || e.AuthenticatedAt.IsZero() {
				t.Errorf("entry %+v: want ip 127.0.0.1 (the direct peer) and authenticated_at set", e)
			}
		}
		if got := phone.sessions(); !slices.Equal(ids(got), ids(list)) || !got[0].Current {
			t.Errorf("the phone's GET /sessions = %+v, want the same order, its own (first) current", got)
		}

		r := laptop.do("DELETE", "/sessions/"+phoneEntry.ID, "")
		r.want(t, http.StatusOK, `{"revoked":1}`)
		if ck := r.cookie(t); ck != nil {
			t.Errorf("revoking another session set the caller's cookie: %v", ck)
		}
		phone.wantLoggedIn("")
		laptop.wantLoggedIn(user)
		if got := laptop.sessions(); !slices.Equal(ids(got), []string{laptopEntry.ID}) {
			t.Errorf("GET /sessions after the revoke = %+v, want the laptop's alone", got)
		}
		// Gone is gone; and an id that never was is not found either.
		laptop.do("DELETE", "/sessions/"+phoneEntry.ID, "").wantError(t, http.StatusNotFound)
		laptop.do("DELETE", "/sessions/no-such-session", "").wantError(t, http.StatusNotFound)
		laptop.wantLoggedIn(user)
	}},

	{"sessions/another user's session", func(t *testing.T, srv *httptest.Server) {
		mallory, victim := newClient(t, srv), newClient(t, srv)
		mallory.login("mallory")
		victim.login("victor")
		id := victim.currentID()
		mallory.do("DELETE", "/sessions/"+id, "").wantError(t, http.StatusNotFound)
		mallory.postForm("/sessions/"+id+"/revoke", nil).wantError(t, http.StatusNotFound)
		victim.wantLoggedIn("victor")
		mallory.wantLoggedIn("mallory")
		if got := victim.sessions(); !slices.Equal(ids(got), []string{id}) {
			t.Errorf("the victim's GET /sessions = %+v, want its own session alone", got)
		}
	}},

	{"sessions/revoke own", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.login("rhea")
		token := c.token()
		r := c.do("DELETE", "/sessions/"+c.currentID(), "")
		r.want(t, http.StatusOK, `{"revoked":1}`)
		if ck := r.cookie(t); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
			t.Errorf("revoking its own session set cookie %v, want the session cookie expired", ck)
		}
		if got := c.token(); got != "" {
			t.Errorf("after revoking its own session the jar still holds %q", got)
		}
		c.wantLoggedIn("")
		c.withToken(token).do("GET", "/me", "").wantError(t, http.StatusUnauthorized)
		c.get("/sessions").wantError(t, http.StatusUnauthorized)
	}},

	{"sessions/revoke by form post", func(t *testing.T, srv *httptest.Server) {
		c, other := newClient(t, srv), newClient(t, srv)
		c.login("fern")
		other.login("fern")
		c.postForm("/sessions/"+other.currentID()+"/revoke", nil).want(t, http.StatusOK, `{"revoked":1}`)
		other.wantLoggedIn("")
		c.wantLoggedIn("fern")
	}},

	{"logout-others", func(t *testing.T, srv *httptest.Server) {
		const user = "otto"
		devices := make([]*client, 3)
		for i := range devices {
			devices[i] = newClient(t, srv)
			devices[i].login(user)
		}
		bystander := newClient(t, srv)
		bystander.login("otta")

		r := devices[0].do("POST", "/logout-others", "")
		r.want(t, http.StatusOK, `{"revoked":2}`)
		if ck := r.cookie(t); ck != nil {
			t.Errorf("logout-others set the caller's cookie: %v", ck)
		}
		devices[0].wantLoggedIn(user)
		for _, d := range devices[1:] {
			d.wantLoggedIn("")
		}
		bystander.wantLoggedIn("otta")
		if got := devices[0].sessions(); len(got) != 1 {
			t.Errorf("GET /sessions after logout-others = %+v, want the caller's alone", got)
		}
		devices[0].do("POST", "/logout-others", "").want(t, http.StatusOK, `{"revoked":0}`)
	}},

	{"sessions/not logged in", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		check := func() {
			t.Helper()
			c.get("/sessions").wantError(t, http.StatusUnauthorized)
			c.do("DELETE", "/sessions/some-id", "").wantError(t, http.StatusUnauthorized)
			c.postForm("/sessions/some-id/revoke", nil).wantError(t, http.StatusUnauthorized)
			c.do("POST", "/logout-others", "").wantError(t, http.StatusUnauthorized)
			c.do("POST", "/sensitive", "").want(t, http.StatusUnauthorized, `{"error":"not logged in"}`)
		}
		check()
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`) // an anonymous session
		check()
		c.login("lena")
		c.do("POST", "/logout", "").wantStatus(t, http.StatusOK)
		check()
	}},

	{"sensitive/fresh login", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.login("sid")
		c.do("POST", "/sensitive", "").want(t, http.StatusOK, `{"ok":true}`)
	}},

	{"page/browser sessions", func(t *testing.T, srv *httptest.Server) {
		const user = "pia"
		phone := newClient(t, srv)
		phone.login(user)
		c := newClient(t, srv)
		c.browser = true
		c.postForm("/login", url.Values{"username": {user}}).wantRedirect(t)
		own, other := c.currentID(), phone.currentID()
		revokeForm := func(id string) string { return fmt.Sprintf(`action="/sessions/%s/revoke"`, id) }
		c.get("/").wantHTML(t, "Where you are logged in", "this session", "127.0.0.1", "Go-http-client",
			revokeForm(own), revokeForm(other), `action="/logout-others"`)

		c.postForm("/sessions/"+other+"/revoke", nil).wantRedirect(t)
		page := c.get("/")
		page.wantHTML(t, "Session ended.", revokeForm(own))
		if strings.Contains(string(page.body), other) || strings.Contains(string(page.body), `action="/logout-others"`) {
			t.Errorf("after ending the phone's session the page still lists it, or offers to log out others")
		}
		phone.wantLoggedIn("")

		c.postForm("/sessions/no-such-session/revoke", nil).wantRedirect(t)
		c.get("/").wantHTML(t, `class="flash error"`, "no such session")

		phone.login(user)
		c.postForm("/logout-others", nil).wantRedirect(t)
		c.get("/").wantHTML(t, "Logged out of 1 other session.", "Logged in as")
		phone.wantLoggedIn("")

		c.postForm("/sessions/"+own+"/revoke", nil).wantRedirect(t)
		c.get("/").wantHTML(t, "Session ended.", "Not logged in")
		c.get("/me").wantError(t, http.StatusUnauthorized)
	}},
}

// ownAppCases are parts of the contract that need an app configured
// otherwise than the shared one: each runs on an app of its own, built
// from app as main builds it (app.ManagerConfig(), app.FreshAge), with the
// suite's lifetime.
var ownAppCases = []struct {
	name string
	app  demo.Config
	run  func(t *testing.T, srv *httptest.Server)
}{
	{"sessions/max-sessions 2", demo.Config{MaxSessions: 2, FreshAge: demo.DefaultFreshAge}, func(t *testing.T, srv *httptest.Server) {
		const user = "cap"
		first, second, third := newClient(t, srv), newClient(t, srv), newClient(t, srv)
		first.login(user)
		second.login(user)
		third.login(user) // past the cap: ends the least recently seen, the first
		first.wantLoggedIn("")
		second.wantLoggedIn(user)
		third.wantLoggedIn(user)
		if got, want := ids(third.sessions()), []string{third.currentID(), second.currentID()}; !slices.Equal(got, want) {
			t.Errorf("GET /sessions after three logins lists %q, want the third's and the second's %q", got, want)
		}
	}},

	{"sensitive/stale login", demo.Config{FreshAge: time.Nanosecond}, func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.do("POST", "/sensitive", "").want(t, http.StatusUnauthorized, `{"error":"not logged in"}`)
		c.login("stan")
		c.do("POST", "/sensitive", "").want(t, http.StatusForbidden, `{"error":"reauthentication required"}`)
		c.wantLoggedIn("stan") // refused, not logged out
	}},
}

// testRevokeAcross checks that a session of user revoked through app a is
// refused through app b, which has it cached, within revokeBound.
func testRevokeAcross(t *testing.T, user string, a, b *httptest.Server) {
	onA := newClient(t, a)
	onA.login(user)
	victim := newClient(t, b)
	victim.login(user)
	victim.wantLoggedIn(user) // now in b's cache

	onA.do("DELETE", "/sessions/"+victim.currentID(), "").want(t, http.StatusOK, `{"revoked":1}`)
	start := time.Now()
	for victim.get("/me").status != http.StatusUnauthorized {
		if time.Since(start) > revokeBound {
			t.Fatalf("GET /me through the other app still answers the revoked session after %v", revokeBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the revoked session was refused through the other app after %v", time.Since(start))
}
