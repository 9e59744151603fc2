package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/examples/internal/contract"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// tries is how often each coherence measurement is repeated.
const tries = 20

// TestTwoProcesses runs two example app processes on one PostgreSQL
// database — two Gin apps, and a Gin and an Echo app — and checks that
// they agree on every session: a logout or a change through one is seen
// through the other within maxDelay (and the delays are logged), and
// parallel writes of one session spread over both are all kept.
func TestTwoProcesses(t *testing.T) {
	for _, pair := range [][2]string{{"gin", "gin"}, {"gin", "echo"}} {
		t.Run(pair[0]+"+"+pair[1], func(t *testing.T) {
			dsn := testdb.NewPostgres(t)
			// One after the other: the first creates the table.
			apps := []*process{startApp(t, pair[0], dsn, 1), startApp(t, pair[1], dsn, 2)}
			c := newClient(t)
			t.Run("logout", func(t *testing.T) { testLogoutSeen(t, c, apps) })
			t.Run("change", func(t *testing.T) { testChangeSeen(t, c, apps) })
			t.Run("parallel prefs", func(t *testing.T) { testParallelPrefs(t, c, apps) })
			t.Run("parallel counter", func(t *testing.T) { testParallelCounter(t, c, apps) })
		})
	}
}

// testLogoutSeen logs in on one app, reads /me on the other (so that its
// cache holds the session), logs out on the first and measures how long
// the other keeps answering /me with 200 before it says 401. The roles
// alternate between the apps.
func testLogoutSeen(t *testing.T, c *client, apps []*process) {
	var ds delays
	for i := range tries {
		a, b := apps[i%2], apps[1-i%2]
		user := fmt.Sprintf("logout-%d", i)
		tok := c.login(t, a.base, user)
		if me := decode[struct{ User string }](t, c.expect(t, http.StatusOK, http.MethodGet, b.base+"/me", tok, "")); me.User != user {
			t.Fatalf("GET /me on %s = user %q, want %q", b.name, me.User, user)
		}
		c.expect(t, http.StatusOK, http.MethodPost, a.base+"/logout", tok, "")
		start := time.Now()
		d, polls := await(t, start, fmt.Sprintf("logout on %s, 401 on %s", a.name, b.name), func() (bool, string) {
			r := c.must(t, http.MethodGet, b.base+"/me", tok, "")
			if r.status != http.StatusOK && r.status != http.StatusUnauthorized {
				t.Fatalf("%v, want 200 or 401", r)
			}
			return r.status == http.StatusUnauthorized, r.String()
		})
		ds.add(d, polls)
	}
	t.Logf("logout on one instance → 401 on the other: %v", &ds)
}

// testChangeSeen changes the counter of a logged-in session on one app
// and measures how long the other still reads the old count.
func testChangeSeen(t *testing.T, c *client, apps []*process) {
	tok := c.login(t, apps[0].base, "change")
	want := count(t, c.expect(t, http.StatusOK, http.MethodPost, apps[0].base+"/counter", tok, ""))
	if got := count(t, c.expect(t, http.StatusOK, http.MethodGet, apps[1].base+"/counter", tok, "")); got != want {
		t.Fatalf("GET /counter on %s = %d, want %d", apps[1].name, got, want)
	}
	var ds delays
	for i := range tries {
		a, b := apps[i%2], apps[1-i%2] // b's cache holds the session: it just read or wrote it
		old := want
		want = count(t, c.expect(t, http.StatusOK, http.MethodPost, a.base+"/counter", tok, ""))
		if want != old+1 {
			t.Fatalf("POST /counter on %s = %d, want %d", a.name, want, old+1)
		}
		start := time.Now()
		d, polls := await(t, start, fmt.Sprintf("count %d from %s on %s", want, a.name, b.name), func() (bool, string) {
			r := c.expect(t, http.StatusOK, http.MethodGet, b.base+"/counter", tok, "")
			got := count(t, r)
			if got != old && got != want {
				t.Fatalf("GET /counter on %s = %d, want %d (or %d until the change is seen)", b.name, got, want, old)
			}
			return got == want, r.String()
		})
		ds.add(d, polls)
	}
	t.Logf("counter change on one instance → seen on the other: %v", &ds)
}

// parallel runs n requests, at most conc at a time, all released at once;
// request i goes to apps[i%len(apps)]. It returns each request's answer
// and transport error.
func parallel(c *client, apps []*process, n, conc int, req func(i int, base string) (method, path, token, body string)) ([]reply, []error) {
	replies, errs := make([]reply, n), make([]error, n)
	contract.InParallel(n, conc, func(i int) {
		base := apps[i%len(apps)].base
		method, path, token, body := req(i, base)
		replies[i], errs[i] = c.call(method, base+path, token, body)
	})
	return replies, errs
}

// testParallelPrefs sets 20 different preferences of one session at once,
// spread over both apps, and checks that each app then shows all 20.
// Three rounds, each on a fresh session.
func testParallelPrefs(t *testing.T, c *client, apps []*process) {
	const keys, rounds = 20, 3
	for round := range rounds {
		tok := c.login(t, apps[round%2].base, fmt.Sprintf("prefs-%d", round))
		replies, errs := parallel(c, apps, keys, keys, func(i int, _ string) (string, string, string, string) {
			return http.MethodPut, fmt.Sprintf("/prefs/k%02d", i), tok, fmt.Sprintf(`{"value": "v%d-%d"}`, round, i)
		})
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("PUT /prefs/k%02d: %v", i, errs[i])
			}
			if replies[i].status != http.StatusOK {
				t.Errorf("%v, want 200", replies[i])
			}
		}
		for _, app := range apps {
			// The last writes may have gone through the other app: allow
			// for its announcement to arrive, as for any change.
			var prefs map[string]string
			d, _ := await(t, time.Now(), fmt.Sprintf("all %d preferences on %s", keys, app.name), func() (bool, string) {
				r := c.expect(t, http.StatusOK, http.MethodGet, app.base+"/prefs", tok, "")
				prefs = decode[struct{ Prefs map[string]string }](t, r).Prefs
				return len(prefs) == keys, r.String()
			})
			lost := 0
			for i := range keys {
				key, want := fmt.Sprintf("k%02d", i), fmt.Sprintf("v%d-%d", round, i)
				if got, ok := prefs[key]; !ok || got != want {
					lost++
					t.Errorf("GET /prefs on %s: %s = %q (present %v), want %q", app.name, key, got, ok, want)
				}
			}
			t.Logf("round %d: %d parallel PUT /prefs/{key} over both instances; %s shows %d after %v, lost updates: %d",
				round, keys, app.name, len(prefs), d.Round(time.Microsecond), lost)
		}
	}
}

// testParallelCounter sends 50 POST /counter of one session, 16 at a time,
// alternating between the apps, and checks that every one succeeded and
// the final count is their number.
func testParallelCounter(t *testing.T, c *client, apps []*process) {
	const n, conc = 50, 16
	tok := c.login(t, apps[0].base, "counter")
	start := time.Now()
	replies, errs := parallel(c, apps, n, conc, func(int, string) (string, string, string, string) {
		return http.MethodPost, "/counter", tok, ""
	})
	took := time.Since(start)
	ok := 0
	seen := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("POST /counter #%d: %v", i, errs[i])
		}
		if replies[i].status != http.StatusOK {
			t.Errorf("%v, want 200", replies[i])
			continue
		}
		ok++
		// Atomic increments: each answer is a different count.
		if v := count(t, replies[i]); seen[v] {
			t.Errorf("two POST /counter answered count %d, want every count once", v)
		} else {
			seen[v] = true
		}
	}
	for _, app := range apps {
		var got int
		d, _ := await(t, time.Now(), fmt.Sprintf("count %d on %s", ok, app.name), func() (bool, string) {
			r := c.expect(t, http.StatusOK, http.MethodGet, app.base+"/counter", tok, "")
			got = count(t, r)
			if got > ok {
				t.Fatalf("GET /counter on %s = %d after %d successful POST /counter, want %d", app.name, got, ok, ok)
			}
			return got == ok, r.String()
		})
		t.Logf("%d parallel POST /counter (%d at a time, both instances, %v): %d answered 200; %s counts %d after %v; lost updates: %d",
			n, conc, took.Round(time.Millisecond), ok, app.name, got, d.Round(time.Microsecond), ok-got)
	}
}
