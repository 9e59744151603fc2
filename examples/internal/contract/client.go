package contract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cookieName is the session cookie of both apps (core's default).
const cookieName = "session"

// client is one user agent of an app under test: a cookie jar and no
// redirect following, so that a 303 is seen as it is.
type client struct {
	t    testing.TB
	base *url.URL
	jar  *cookiejar.Jar
	hc   *http.Client
	// browser makes form posts the way a browser does, asking for HTML.
	browser bool
	// userAgent, when set, is sent as the User-Agent of every request.
	userAgent string
}

func newClient(t testing.TB, srv *httptest.Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &client{
		t:    t,
		base: base,
		jar:  jar,
		hc: &http.Client{
			Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// response is an answer read in full.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

// do sends a request with the given body and header pairs.
func (c *client) do(method, path, body string, header ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base.String()+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if method == http.MethodHead {
		return c.head(req)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{method: method, path: path, status: res.StatusCode, header: res.Header, body: b}
}

// head sends req, a HEAD, on a connection of its own that the server
// closes after its answer, with the jar's cookies, and keeps the cookies
// the answer sets, as http.Client would. http.Client never reads a body of
// an answer to a HEAD, so it could not tell whether one came; here the
// response's body is whatever the server sent after the header.
func (c *client) head(req *http.Request) response {
	c.t.Helper()
	fail := func(what string, err error) {
		c.t.Helper()
		c.t.Fatalf("HEAD %s: %s: %v", req.URL.Path, what, err)
	}
	if c.jar != nil {
		for _, ck := range c.jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
	}
	req.Close = true
	conn, err := net.DialTimeout("tcp", req.URL.Host, 10*time.Second)
	if err != nil {
		fail("dial", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		fail("deadline", err)
	}
	if err := req.Write(conn); err != nil {
		fail("write", err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		fail("read answer", err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		fail("read past the header", err)
	}
	if c.jar != nil {
		c.jar.SetCookies(req.URL, res.Cookies())
	}
	return response{method: req.Method, path: req.URL.RequestURI(), status: res.StatusCode, header: res.Header, body: rest}
}

func (c *client) get(path string) response {
	c.t.Helper()
	return c.do(http.MethodGet, path, "")
}

// sendJSON sends body, a string of raw JSON or a value to marshal, as JSON.
func (c *client) sendJSON(method, path string, body any) response {
	c.t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = string(b)
	}
	return c.do(method, path, raw, "Content-Type", "application/json")
}

// postForm sends a url-encoded form, as a browser when c.browser is set.
func (c *client) postForm(path string, form url.Values) response {
	c.t.Helper()
	h := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if c.browser {
		h = append(h, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	return c.do(http.MethodPost, path, form.Encode(), h...)
}

// token is the session cookie the jar holds; "" when none.
func (c *client) token() string {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	return ""
}

// withToken is a client without a jar that sends the given cookie value.
func (c *client) withToken(token string) *tokenClient {
	return &tokenClient{c: c, token: token}
}

// tokenClient replays a fixed session cookie, whatever the answers set.
type tokenClient struct {
	c     *client
	token string
}

func (tc *tokenClient) do(method, path, body string) response {
	tc.c.t.Helper()
	plain := &client{t: tc.c.t, base: tc.c.base, hc: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	return plain.do(method, path, body, "Cookie", cookieName+"="+tc.token)
}

// cookie is the session cookie the response sets; nil when none.
func (r response) cookie(t testing.TB) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("%s %s: bad Set-Cookie %q: %v", r.method, r.path, line, err)
		}
		if ck.Name == cookieName {
			if found != nil {
				t.Fatalf("%s %s: two session cookies set: %q", r.method, r.path, r.header.Values("Set-Cookie"))
			}
			found = ck
		}
	}
	return found
}

// want checks the status and that the body is the JSON want (a string of
// JSON), whatever the order of object keys.
func (r response) want(t testing.TB, status int, want string) {
	t.Helper()
	r.wantStatus(t, status)
	r.wantJSONType(t)
	var got, exp any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", r.method, r.path, r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s %s: body = %s, want %s", r.method, r.path, bytes.TrimSpace(r.body), want)
	}
}

// wantError checks the status and an error body {"error": "<non-empty>"}
// with nothing else in it.
func (r response) wantError(t testing.TB, status int) {
	t.Helper()
	r.wantStatus(t, status)
	r.wantJSONType(t)
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s %s: error body %q is not a JSON object: %v", r.method, r.path, r.body, err)
	}
	msg, ok := body["error"].(string)
	if len(body) != 1 || !ok || msg == "" {
		t.Errorf("%s %s: error body = %s, want {\"error\": \"<message>\"}", r.method, r.path, r.body)
	}
}

func (r response) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s %s: status = %d, want %d (body %q)", r.method, r.path, r.status, status, r.body)
	}
}

func (r response) wantJSONType(t testing.TB) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type = %q, want application/json", r.method, r.path, ct)
	}
}

// wantRedirect checks a 303 See Other to the page.
func (r response) wantRedirect(t testing.TB) {
	t.Helper()
	r.wantStatus(t, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != "/" {
		t.Errorf("%s %s: Location = %q, want /", r.method, r.path, loc)
	}
}

// wantHTML checks a 200 page that contains every string in want.
func (r response) wantHTML(t testing.TB, want ...string) {
	t.Helper()
	r.wantStatus(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s %s: Content-Type = %q, want text/html", r.method, r.path, ct)
	}
	for _, s := range want {
		if !bytes.Contains(r.body, []byte(s)) {
			t.Errorf("%s %s: page lacks %q", r.method, r.path, s)
		}
	}
}
