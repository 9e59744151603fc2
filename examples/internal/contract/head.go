package contract

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// getRoutes are the contract's GET routes, each of which answers HEAD as
// it answers GET, without the body.
var getRoutes = []string{"/", "/healthz", "/me", "/counter", "/prefs", "/sessions"}

// sessionState makes a user agent in one session state; a HEAD and its GET
// are each sent from a state of their own, made alike, so that neither
// sees what the other did.
type sessionState struct {
	name string
	// make returns the agent; tag tells apart the states of one name, for
	// user names of their own.
	make func(t *testing.T, srv *httptest.Server, tag string) agent
	// cookie is what the GET routes do to the session cookie in this
	// state; the HEAD must do the same in any case.
	cookie cookieWant
}

type cookieWant int

const (
	// cookieAny: the contract does not say; only HEAD matching GET is
	// checked.
	cookieAny cookieWant = iota
	// cookieNone: no route sets or expires it.
	cookieNone
	// cookieExpired: every route that reads the session expires it;
	// /healthz, which does not, leaves it alone.
	cookieExpired
)

// agent sends a request without a body.
type agent func(method, path string) response

func jarAgent(c *client) agent {
	return func(method, path string) response { return c.do(method, path, "") }
}

func tokenAgent(tc *tokenClient) agent {
	return func(method, path string) response { return tc.do(method, path, "") }
}

var sessionStates = []sessionState{
	{"new visitor", func(t *testing.T, srv *httptest.Server, _ string) agent {
		return jarAgent(newClient(t, srv))
	}, cookieNone},
	{"anonymous session", func(t *testing.T, srv *httptest.Server, _ string) agent {
		c := newClient(t, srv)
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
		c.sendJSON("PUT", "/prefs/theme", `{"value":"dark"}`).wantStatus(t, http.StatusOK)
		return jarAgent(c)
	}, cookieNone},
	{"logged in", func(t *testing.T, srv *httptest.Server, tag string) agent {
		c := newClient(t, srv)
		user := "head-" + tag
		c.sendJSON("POST", "/login", map[string]string{"username": user}).want(t, http.StatusOK, fmt.Sprintf(`{"user":%q}`, user))
		c.do("POST", "/counter", "").want(t, http.StatusOK, `{"count":1}`)
		c.sendJSON("PUT", "/prefs/theme", `{"value":"dark"}`).wantStatus(t, http.StatusOK)
		return jarAgent(c)
	}, cookieNone},
	{"logged in from a browser, a flash message waiting", func(t *testing.T, srv *httptest.Server, tag string) agent {
		c := newClient(t, srv)
		c.browser = true
		c.postForm("/login", url.Values{"username": {"head-" + tag}, "remember": {"false"}}).wantRedirect(t)
		return jarAgent(c)
	}, cookieNone},
	// A token the app never issued is refused and the request gets a
	// fresh session; whether the cookie sent is expired is core's choice
	// (today it is not), which the HEAD must only match.
	{"unknown token", func(t *testing.T, srv *httptest.Server, _ string) agent {
		valid := newClient(t, srv)
		valid.do("POST", "/counter", "").wantStatus(t, http.StatusOK)
		return tokenAgent(valid.withToken(strings.Repeat("A", len(valid.token()))))
	}, cookieAny},
	{"malformed token", func(t *testing.T, srv *httptest.Server, _ string) agent {
		return tokenAgent(newClient(t, srv).withToken("garbage"))
	}, cookieAny},
	{"logged out session", func(t *testing.T, srv *httptest.Server, tag string) agent {
		c := newClient(t, srv)
		c.sendJSON("POST", "/login", map[string]string{"username": "head-" + tag}).wantStatus(t, http.StatusOK)
		token := c.token()
		c.do("POST", "/logout", "").want(t, http.StatusOK, `{"ok":true}`)
		return tokenAgent(c.withToken(token))
	}, cookieExpired},
}

// comparedHeaders are the headers besides Set-Cookie that a HEAD must
// answer as its GET does.
var comparedHeaders = []string{"Content-Type", "Cache-Control", "Vary", "Retry-After", "Location", "Allow"}

// wantSameAsGet checks that head, the answer to a HEAD, is get's but for
// the body: the same status, the headers above, the same session cookie
// set or expired (or none), and no body on the wire.
func wantSameAsGet(t *testing.T, head, get response) {
	t.Helper()
	if head.status != get.status {
		t.Errorf("HEAD %s: status = %d, GET's = %d", head.path, head.status, get.status)
	}
	for _, h := range comparedHeaders {
		if got, want := strings.Join(head.header.Values(h), ", "), strings.Join(get.header.Values(h), ", "); got != want {
			t.Errorf("HEAD %s: %s = %q, GET's = %q", head.path, h, got, want)
		}
	}
	if got, want := describeCookie(head.cookie(t)), describeCookie(get.cookie(t)); got != want {
		t.Errorf("HEAD %s: session cookie %s, GET's %s", head.path, got, want)
	}
	if len(head.body) != 0 {
		t.Errorf("HEAD %s: %d bytes of body sent: %.80q", head.path, len(head.body), head.body)
	}
}

// describeCookie is what a session cookie does, leaving out its value and
// times, which differ between two sessions made alike.
func describeCookie(ck *http.Cookie) string {
	switch {
	case ck == nil:
		return "none"
	case ck.MaxAge < 0:
		return fmt.Sprintf("expired (value %q, path %s)", ck.Value, ck.Path)
	default:
		return fmt.Sprintf("set (empty value: %t, path %s, HttpOnly %t, Secure %t, SameSite %v, persistent %t)",
			ck.Value == "", ck.Path, ck.HttpOnly, ck.Secure, ck.SameSite, ck.MaxAge > 0 || !ck.Expires.IsZero())
	}
}

var headCases = []testCase{
	{"head/every GET route, as GET", func(t *testing.T, srv *httptest.Server) {
		for s, st := range sessionStates {
			t.Run(st.name, func(t *testing.T) {
				for i, path := range getRoutes {
					t.Run(path, func(t *testing.T) {
						tag := fmt.Sprintf("%d-%d", s, i)
						get := st.make(t, srv, tag+"-get")("GET", path)
						head := st.make(t, srv, tag+"-head")("HEAD", path)
						wantSameAsGet(t, head, get)
						want := st.cookie
						if want == cookieExpired && path == "/healthz" {
							want = cookieNone
						}
						switch c := get.cookie(t); {
						case want == cookieNone && c != nil:
							t.Errorf("GET %s set a session cookie %v, want none", path, c)
						case want == cookieExpired && (c == nil || c.MaxAge >= 0):
							t.Errorf("GET %s: session cookie %v, want it expired", path, c)
						}
					})
				}
			})
		}
	}},

	{"head/GET routes' statuses", func(t *testing.T, srv *httptest.Server) {
		// A HEAD answers what its GET answers, errors included; these are
		// the contract's, so that the comparison above is not between two
		// failures.
		anon, user := newClient(t, srv), newClient(t, srv)
		user.sendJSON("POST", "/login", `{"username":"head-status"}`).wantStatus(t, http.StatusOK)
		for _, path := range getRoutes {
			user.do("HEAD", path, "").wantStatus(t, http.StatusOK)
			want := http.StatusOK
			if path == "/me" || path == "/sessions" {
				want = http.StatusUnauthorized
			}
			anon.do("HEAD", path, "").wantStatus(t, want)
		}
	}},

	{"head/does to the session what GET does", func(t *testing.T, srv *httptest.Server) {
		// GET / shows the flash messages once; a HEAD of / consumes them
		// just the same, and neither changes the session otherwise.
		c := newClient(t, srv)
		c.browser = true
		c.postForm("/login", url.Values{"username": {"head-same"}}).wantRedirect(t)
		c.postForm("/counter", nil).wantRedirect(t)
		token := c.token()
		c.do("HEAD", "/", "").wantStatus(t, http.StatusOK)
		page := c.get("/")
		page.wantHTML(t, "Logged in as", `<span class="count" id="count">1</span>`)
		if strings.Contains(string(page.body), `class="flash`) {
			t.Errorf("GET / after HEAD / still shows a flash message, want it consumed by the HEAD as by a GET")
		}
		for _, path := range getRoutes {
			c.do("HEAD", path, "").wantStatus(t, http.StatusOK)
		}
		if got := c.token(); got != token {
			t.Errorf("HEADs changed the session token from %q to %q", token, got)
		}
		c.get("/me").want(t, http.StatusOK, `{"user":"head-same","count":1}`)
	}},

	{"head/other routes answer 405", func(t *testing.T, srv *httptest.Server) {
		c := newClient(t, srv)
		c.sendJSON("POST", "/login", `{"username":"head-405"}`).wantStatus(t, http.StatusOK)
		for _, path := range []string{"/login", "/logout", "/logout-all", "/logout-others", "/sensitive",
			"/sessions/x", "/sessions/x/revoke", "/prefs/theme"} {
			head := c.do("HEAD", path, "")
			head.wantStatus(t, http.StatusMethodNotAllowed)
			get := c.get(path)
			get.wantError(t, http.StatusMethodNotAllowed)
			wantSameAsGet(t, head, get)
		}
		head, get := c.do("HEAD", "/no-such-page", ""), c.get("/no-such-page")
		head.wantStatus(t, http.StatusNotFound)
		wantSameAsGet(t, head, get)
		// None of them touched the session.
		c.get("/me").want(t, http.StatusOK, `{"user":"head-405","count":0}`)
	}},
}
