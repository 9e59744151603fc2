package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/examples/internal/contract"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// Bounds of the contention tests of two instances (examples/README.md,
// "Concurrency and failures"); the one-instance tests are
// examples/internal/contract's RunContention.
const (
	burstSize      = 100 // POST /counter of one session in a burst
	raceIncrements = 20  // POST /counter racing one POST /login
	raceRounds     = 5
)

// burstConcurrencies are the numbers of clients a burst is sent by.
var burstConcurrencies = []int{2, 16, 100}

// TestTwoProcessesContention runs two example app processes on one
// PostgreSQL database — two Gin apps, and a Gin and an Echo app — and
// checks what examples/README.md promises of contention on one session spread over
// both: see testContendedCounter and testLoginRace.
func TestTwoProcessesContention(t *testing.T) {
	for _, pair := range [][2]string{{"gin", "gin"}, {"gin", "echo"}} {
		t.Run(pair[0]+"+"+pair[1], func(t *testing.T) {
			dsn := testdb.NewPostgres(t)
			// One after the other: the first creates the table.
			apps := []*process{startApp(t, pair[0], dsn, 1), startApp(t, pair[1], dsn, 2)}
			c := newClient(t)
			for _, conc := range burstConcurrencies {
				t.Run(fmt.Sprintf("counter/concurrency %d", conc), func(t *testing.T) {
					testContendedCounter(t, c, apps, conc)
				})
			}
			t.Run("login races increments", func(t *testing.T) {
				for round := range raceRounds {
					t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) { testLoginRace(t, c, apps, round) })
				}
			})
		})
	}
}

// newSession makes a session with one POST /counter on app and returns its
// token.
func newSession(t *testing.T, c *client, app *process) string {
	t.Helper()
	r := c.expect(t, http.StatusOK, http.MethodPost, app.base+"/counter", "", "")
	if n := count(t, r); n != 1 {
		t.Fatalf("%v, want count 1", r)
	}
	tok := r.token()
	if tok == "" {
		t.Fatalf("%v: no session cookie set, want one", r)
	}
	return tok
}

// awaitAnswer waits until GET path with token on app answers status and,
// unless want is "", the JSON body want (compacted), and returns how long
// that took.
func awaitAnswer(t *testing.T, c *client, app *process, path, token string, status int, want string) time.Duration {
	t.Helper()
	d, _ := await(t, time.Now(), fmt.Sprintf("GET %s on %s = %d %s", path, app.name, status, want), func() (bool, string) {
		r := c.must(t, http.MethodGet, app.base+path, token, "")
		return r.status == status && (want == "" || strings.TrimSpace(string(r.body)) == want), r.String()
	})
	return d
}

// testContendedCounter sends burstSize POST /counter of one session, conc
// at a time, alternating between the apps, and checks that every one is
// answered 200, that each count is answered exactly once, that the session
// keeps its token, and that each app then counts exactly burstSize more
// (within maxDelay, as the last increments may have gone through the
// other app).
func testContendedCounter(t *testing.T, c *client, apps []*process, conc int) {
	tok := newSession(t, c, apps[0])
	start := time.Now()
	replies, errs := parallel(c, apps, burstSize, conc, func(int, string) (string, string, string, string) {
		return http.MethodPost, "/counter", tok, ""
	})
	took := time.Since(start)
	var counts []int
	failures := map[string]int{}
	for i := range burstSize {
		if errs[i] != nil {
			t.Fatalf("POST /counter #%d: %v", i, errs[i])
		}
		r := replies[i]
		if r.status != http.StatusOK {
			failures[fmt.Sprintf("%d %s", r.status, strings.TrimSpace(string(r.body)))]++
			continue
		}
		if got := r.token(); got != "" && got != tok {
			t.Errorf("%v moved the session to another token", r)
		}
		counts = append(counts, count(t, r))
	}
	for f, k := range failures {
		t.Errorf("%d of %d POST /counter answered %s, want 200", k, burstSize, f)
	}
	contract.WantEachOnce(t, fmt.Sprintf("POST /counter at concurrency %d over both instances", conc), counts, 2)
	want := 1 + burstSize
	var seen []string
	for _, app := range apps {
		var got int
		d, _ := await(t, time.Now(), fmt.Sprintf("count %d on %s", want, app.name), func() (bool, string) {
			r := c.expect(t, http.StatusOK, http.MethodGet, app.base+"/counter", tok, "")
			got = count(t, r)
			if got > want {
				t.Fatalf("GET /counter on %s = %d after %d POST /counter on a count of 1, want %d", app.name, got, burstSize, want)
			}
			return got == want, r.String()
		})
		seen = append(seen, fmt.Sprintf("%s counts %d after %v", app.name, got, d.Round(time.Microsecond)))
	}
	t.Logf("two instances: %d POST /counter at concurrency %d took %v; %d answered 200; %s",
		burstSize, conc, took.Round(time.Millisecond), len(counts), strings.Join(seen, ", "))
}

// wroteTransport calls wrote each time a request it carries has been
// written to its connection.
type wroteTransport struct {
	rt    http.RoundTripper
	wrote func()
}

func (w wroteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { w.wrote() },
	})
	return w.rt.RoundTrip(req.WithContext(ctx))
}

// tracing is c, on the same connections, calling wrote once each request
// has been written.
func (c *client) tracing(wrote func()) *client {
	hc := *c.hc
	hc.Transport = wroteTransport{c.tr, wrote}
	return &client{tr: c.tr, hc: &hc}
}

// testLoginRace makes a session (count 1), then sends raceIncrements POST
// /counter with its token, alternating between the apps, and, once all of
// them have been written to their connections, POST /login with the same
// token to apps[round%2]. It checks what examples/README.md promises:
//
//   - the login answers 200 {"user": user} and sets a new token;
//   - every increment is answered 200 ("never an error"); the answer
//     either keeps the session (it sets no token or the old one) or, for an
//     increment that came after the renewal, is a fresh session: it sets a
//     token of its own, answers count 1, and that session is its own (GET
//     /counter 1, GET /me 401 on the app that made it). No answer but the
//     login's sets the new token ("never follows the session to its new
//     token");
//   - every increment that kept the session is kept after the login: their
//     counts are 2, 3, ..., each once, and GET /me with the new token says
//     the user and 1 + their number on both apps (within maxDelay);
//   - the old token is dead on both apps (GET /me 401 within maxDelay,
//     then GET /counter 0).
func testLoginRace(t *testing.T, c *client, apps []*process, round int) {
	user := fmt.Sprintf("racer-%d", round)
	loginApp := apps[round%2]
	old := newSession(t, c, apps[1-round%2])
	var written atomic.Int32
	allWritten := make(chan struct{})
	traced := c.tracing(func() {
		if written.Add(1) == raceIncrements {
			close(allWritten)
		}
	})
	var (
		incs []reply
		errs []error
		wg   sync.WaitGroup
	)
	start := time.Now()
	wg.Go(func() {
		incs, errs = parallel(traced, apps, raceIncrements, raceIncrements, func(int, string) (string, string, string, string) {
			return http.MethodPost, "/counter", old, ""
		})
	})
	select {
	case <-allWritten:
	case <-time.After(10 * time.Second):
		wg.Wait()
		t.Fatalf("only %d of %d POST /counter were written within 10s", written.Load(), raceIncrements)
	}
	loginSent := time.Now()
	login, err := c.call(http.MethodPost, loginApp.base+"/login", old, fmt.Sprintf(`{"username": %q}`, user))
	loginAnswered := time.Now()
	wg.Wait()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("POST /login on %s: %v", loginApp.name, err)
	}
	if login.status != http.StatusOK || decode[struct{ User string }](t, login).User != user {
		t.Fatalf("%v, want 200 {\"user\":%q}", login, user)
	}
	renewed := login.token()
	if renewed == "" || renewed == old {
		t.Fatalf("%v set token %q, want a new one (the old: %q)", login, renewed, old)
	}

	var kept []int
	fresh := map[string]*process{}
	for i, r := range incs {
		if errs[i] != nil {
			t.Fatalf("POST /counter #%d: %v", i, errs[i])
		}
		if r.status != http.StatusOK {
			t.Errorf("%v racing the login on %s, want 200 (a renewed token gets a fresh session, never an error)", r, loginApp.name)
			continue
		}
		n := count(t, r)
		switch tok := r.token(); tok {
		case "", old:
			kept = append(kept, n)
		case renewed:
			t.Errorf("%v with the old token was given the session's new token; want the old session or a fresh one", r)
		default:
			if fresh[tok] != nil {
				t.Errorf("two POST /counter were given the same fresh session")
			}
			fresh[tok] = apps[i%len(apps)]
			if n != 1 {
				t.Errorf("%v got a fresh session, want count 1", r)
			}
		}
	}
	contract.WantEachOnce(t, "POST /counter that kept the session", kept, 2)
	var seen []string
	for _, app := range apps {
		d := awaitAnswer(t, c, app, "/me", renewed, http.StatusOK, fmt.Sprintf(`{"user":%q,"count":%d}`, user, 1+len(kept)))
		seen = append(seen, fmt.Sprintf("%s after %v", app.name, d.Round(time.Microsecond)))
	}
	for tok, app := range fresh {
		if n := count(t, c.expect(t, http.StatusOK, http.MethodGet, app.base+"/counter", tok, "")); n != 1 {
			t.Errorf("GET /counter on %s of a fresh session = %d, want 1", app.name, n)
		}
		if r := c.must(t, http.MethodGet, app.base+"/me", tok, ""); r.status != http.StatusUnauthorized {
			t.Errorf("%v of a fresh session, want 401", r)
		}
	}
	for _, app := range apps {
		awaitAnswer(t, c, app, "/me", old, http.StatusUnauthorized, "")
		if n := count(t, c.expect(t, http.StatusOK, http.MethodGet, app.base+"/counter", old, "")); n != 0 {
			t.Errorf("GET /counter on %s with the renewed-away token = %d, want 0", app.name, n)
		}
	}
	t.Logf("two instances: login on %s raced %d POST /counter in %v (login answered %v after it was sent): %d kept the session, %d got a fresh session, %d failed; the new token reads the count on %s",
		loginApp.name, raceIncrements, took.Round(time.Millisecond), loginAnswered.Sub(loginSent).Round(time.Microsecond),
		len(kept), len(fresh), raceIncrements-len(kept)-len(fresh), strings.Join(seen, ", "))
}
