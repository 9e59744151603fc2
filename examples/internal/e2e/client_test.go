package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// cookieName is the session cookie of both apps (core's default).
const cookieName = "session"

// client sends requests to the apps with an explicit session token, so that
// one session can be used on several instances and by several goroutines
// at once. It follows no redirects and is safe for concurrent use.
type client struct {
	tr *http.Transport
	hc *http.Client
}

// newClient returns a client whose idle connections are closed when the
// test ends.
func newClient(t testing.TB) *client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{tr: tr, hc: &http.Client{
		Transport: tr,
		Timeout:   15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// reply is an answer read in full.
type reply struct {
	req    string // "POST http://…/login", for messages
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string {
	return fmt.Sprintf("%s = %d %s", r.req, r.status, strings.TrimSpace(string(r.body)))
}

// token is the session token the answer sets; "" when it sets none or
// expires the cookie.
func (r reply) token() string {
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == cookieName && ck.MaxAge >= 0 {
			return ck.Value
		}
	}
	return ""
}

// call sends method to url with the session token (none when "") and a
// JSON body (none when ""). It does not touch a testing.T, so goroutines
// may use it.
func (c *client) call(method, url, token, body string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
	}
	r := reply{req: method + " " + url}
	res, err := c.hc.Do(req)
	if err != nil {
		return r, err
	}
	defer res.Body.Close()
	r.status, r.header = res.StatusCode, res.Header
	r.body, err = io.ReadAll(res.Body)
	if err != nil {
		return r, fmt.Errorf("%s: read body: %w", r.req, err)
	}
	return r, nil
}

// must is call that fails the test on a transport error.
func (c *client) must(t testing.TB, method, url, token, body string) reply {
	t.Helper()
	r, err := c.call(method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// expect is must that also fails the test unless the answer has status
// want.
func (c *client) expect(t testing.TB, want int, method, url, token, body string) reply {
	t.Helper()
	r := c.must(t, method, url, token, body)
	if r.status != want {
		t.Fatalf("%v, want status %d", r, want)
	}
	return r
}

// login logs user in on the app at base and returns the session token.
func (c *client) login(t testing.TB, base, user string) string {
	t.Helper()
	r := c.expect(t, http.StatusOK, http.MethodPost, base+"/login", "", fmt.Sprintf(`{"username": %q}`, user))
	tok := r.token()
	if tok == "" {
		t.Fatalf("%v: no session cookie set, want one", r)
	}
	return tok
}

// decode reads r's JSON body as a T.
func decode[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: body is not the JSON expected: %v", r, err)
	}
	return v
}

// count is the counter in an answer of GET or POST /counter.
func count(t testing.TB, r reply) int {
	t.Helper()
	return decode[struct{ Count int }](t, r).Count
}

// Bounds of the coherence measurements.
const (
	pollEvery = time.Millisecond
	maxDelay  = time.Second
)

// await calls poll every pollEvery until it reports done, and returns the
// time from start until the answer that was done arrived and how many
// polls that took. It fails the test after maxDelay, with the last answer.
func await(t testing.TB, start time.Time, what string, poll func() (done bool, last string)) (time.Duration, int) {
	t.Helper()
	for polls := 1; ; polls++ {
		done, last := poll()
		d := time.Since(start)
		if done {
			return d, polls
		}
		if d > maxDelay {
			t.Fatalf("%s: still not seen after %v; last answer: %s", what, d, last)
		}
		time.Sleep(pollEvery)
	}
}

// delays collects the results of await.
type delays struct {
	ds        []time.Duration
	firstPoll int // how often the first poll already saw the change
}

func (ds *delays) add(d time.Duration, polls int) {
	ds.ds = append(ds.ds, d)
	if polls == 1 {
		ds.firstPoll++
	}
}

// String is "median m, worst w over n tries; seen by the first poll in k".
func (ds *delays) String() string {
	s := slices.Clone(ds.ds)
	slices.Sort(s)
	return fmt.Sprintf("median %v, worst %v over %d tries (a poll is one HTTP round trip); seen by the first poll in %d of %d",
		s[len(s)/2].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond), len(s), ds.firstPoll, len(s))
}
