package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/contract"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// Bounds of the fault test.
const (
	// storeTimeout is the app's core.Config.StoreTimeout: short, so that a
	// store call that hangs cannot hold the test up.
	storeTimeout = time.Second
	// outageNoticed bounds how long after the database stopped the app
	// may still serve a read from its cache (its listener has not yet seen
	// the connection drop).
	outageNoticed = 2 * time.Second
	// recoveryBound bounds the recovery after the database is back: the
	// listener reconnects with a backoff of at most 5 seconds.
	recoveryBound = 10 * time.Second
	// outageLength is how long the database stays down.
	outageLength = 1500 * time.Millisecond
	// settleBound bounds the wait for goroutines to end.
	settleBound = 5 * time.Second
)

// TestDatabaseOutage runs an example app in process on a private
// PostgreSQL cluster, stops the cluster and starts it again.
//
// The app runs in process (demo.NewManager, the app's handler and
// demo.ServeListener, as main does) rather than as a binary, so that the
// test can give it a short StoreTimeout without a new flag, count its
// goroutines, and see when its cache is bypassed; the binaries are covered
// by TestTwoProcesses.
//
// What it asserts, while the database is down: every write (POST
// /counter, PUT /prefs, POST /login, POST /logout, POST /logout-others,
// DELETE /sessions/{id}, POST /sensitive) answers a 5xx with a JSON error
// and sets no cookie; /healthz answers 503; a logged-in session's reads
// (/me, /counter, /prefs, /sessions, the page) answer 503 too — not 401 and not
// a possibly stale cached copy — because the cache is bypassed once the
// listener lost its connection; a request without a session cookie needs
// no store and is answered as usual. Once the database is back the app
// recovers by itself within recoveryBound, every write acknowledged before
// the outage is there, and no goroutine was leaked.
func TestDatabaseOutage(t *testing.T) {
	for _, app := range []struct {
		name string
		new  contract.NewApp
	}{{"gin", ginapp.New}, {"echo", echoapp.New}} {
		t.Run(app.name, func(t *testing.T) { testOutage(t, app.new) })
	}
}

// inProcess is an example app served on a loopback port by this process.
type inProcess struct {
	base string
	m    *core.Manager
	stop func() // stops serving and closes the database; idempotent
}

// serveInProcess serves the app newApp makes on dsn, as main does, with a
// short StoreTimeout and logs into buf.
func serveInProcess(t *testing.T, dsn string, newApp contract.NewApp, log *slog.Logger) *inProcess {
	t.Helper()
	db, err := testdb.OpenDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	m, err := demo.NewManager(t.Context(), db, core.Config{StoreTimeout: storeTimeout, Logger: log})
	if err != nil {
		sqlDB.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sqlDB.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- demo.ServeListener(ctx, ln, 0, m, newApp(m, demo.DefaultFreshAge), log) }()
	var once sync.Once
	p := &inProcess{base: "http://" + ln.Addr().String(), m: m}
	p.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("ServeListener = %v, want nil after a clean shutdown", err)
			}
			sqlDB.Close()
		})
	}
	t.Cleanup(p.stop)
	return p
}

// coherent waits until the app's cache is used (not bypassed) or bypassed,
// as want says, and returns how long that took.
func (p *inProcess) coherent(t *testing.T, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for p.m.Stats().Bypassed == want {
		if time.Since(start) > within {
			t.Fatalf("cache bypassed = %v after %v, want %v", !want, within, !want)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// settled returns the number of goroutines once it has not changed for
// 100ms (or after settleBound).
func settled() int {
	deadline := time.Now().Add(settleBound)
	n, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < 100*time.Millisecond && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}

// goroutines returns the number of goroutines once it is at most want, or
// after settleBound the last count and a dump of them all.
func goroutines(want int) (int, string) {
	deadline := time.Now().Add(settleBound)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			if n <= want {
				return n, ""
			}
			var b bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			return n, b.String()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log destination for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// expectError checks that r is an error answer with a status in [min,
// max]: a JSON {"error": "..."} body and no session cookie.
func expectError(t *testing.T, r reply, lo, hi int) {
	t.Helper()
	if r.status < lo || r.status > hi {
		t.Errorf("%v, want a status in %d..%d", r, lo, hi)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%v: Content-Type %q, want application/json", r, ct)
	}
	var body struct{ Error *string }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil || *body.Error == "" {
		t.Errorf("%v: body is not {\"error\": \"...\"}", r)
	}
	if sc := r.header.Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("%v: sets cookie %q, want none from a failed request", r, sc)
	}
}

func testOutage(t *testing.T, newApp contract.NewApp) {
	cluster := testdb.NewCluster(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	// Package demo logs the failures of routes with slog's default.
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() {
		slog.SetDefault(prev)
		if t.Failed() {
			t.Logf("app log (last 8 KiB):\n%s", tail(logs.String(), 8<<10))
		}
	})

	before := settled()
	app := serveInProcess(t, cluster.DSN(), newApp, log)
	app.coherent(t, true, recoveryBound)
	c := newClient(t)
	base := app.base

	// Acknowledged writes, to find again after the outage.
	alice := c.login(t, base, "alice")
	acked := 0
	for range 3 {
		acked = count(t, c.expect(t, http.StatusOK, http.MethodPost, base+"/counter", alice, ""))
	}
	wantPrefs := map[string]string{"theme": "dark", "lang": "fr"}
	for k, v := range wantPrefs {
		c.expect(t, http.StatusOK, http.MethodPut, base+"/prefs/"+k, alice, fmt.Sprintf(`{"value": %q}`, v))
	}
	bob := c.login(t, base, "bob")
	// Both sessions are in the cache now: reads would be served from it.
	c.expect(t, http.StatusOK, http.MethodGet, base+"/me", alice, "")
	c.expect(t, http.StatusOK, http.MethodGet, base+"/me", bob, "")

	c.tr.CloseIdleConnections()
	running := settled()

	// A writer in flight across the outage: every POST /counter it sees
	// answered 200 must be counted in the end.
	var inflightOK, inflightFailed atomic.Int64
	stopWriter := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for {
			select {
			case <-stopWriter:
				return
			default:
			}
			r, err := c.call(http.MethodPost, base+"/counter", alice, "")
			switch {
			case err != nil:
				t.Errorf("POST /counter while the database stops: %v", err)
				return
			case r.status == http.StatusOK:
				inflightOK.Add(1)
			case r.status >= 500:
				inflightFailed.Add(1)
			default:
				t.Errorf("%v, want 200 or a 5xx", r)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	time.Sleep(50 * time.Millisecond) // some increments before the stop

	stopped := time.Now()
	cluster.Stop()
	stopTook := time.Since(stopped)
	noticed := app.coherent(t, false, outageNoticed)
	time.Sleep(50 * time.Millisecond) // some failures after the stop
	close(stopWriter)
	writer.Wait()
	t.Logf("database stopped (pg_ctl stop -m fast took %v); cache bypassed %v after pg_ctl returned; writer in flight: %d POST /counter answered 200, %d a 5xx",
		stopTook.Round(time.Millisecond), noticed.Round(time.Microsecond), inflightOK.Load(), inflightFailed.Load())
	if inflightFailed.Load() == 0 {
		t.Errorf("the writer in flight saw no failure while the database was down")
	}

	// During the outage.
	outageStart := time.Now()
	expectError(t, c.must(t, http.MethodGet, base+"/healthz", "", ""), 503, 503)
	for _, w := range []struct{ method, path, token, body string }{
		{http.MethodPost, "/counter", alice, ""},
		{http.MethodPut, "/prefs/theme", alice, `{"value": "light"}`},
		{http.MethodPut, "/prefs/new", alice, `{"value": "x"}`},
		{http.MethodPost, "/login", "", `{"username": "carol"}`},
		{http.MethodPost, "/login", bob, `{"username": "bob2"}`},
		{http.MethodPost, "/counter", "", ""}, // a new session: its insert fails
		{http.MethodPost, "/logout", bob, ""},
		{http.MethodPost, "/logout-others", alice, ""},
		{http.MethodDelete, "/sessions/some-id", alice, ""},
		{http.MethodPost, "/sensitive", alice, ""},
	} {
		expectError(t, c.must(t, w.method, base+w.path, w.token, w.body), 500, 599)
	}
	for _, path := range []string{"/me", "/counter", "/prefs", "/sessions", "/"} {
		// The session may be cached, but the cache is bypassed: 503, not
		// a stale answer, and not 401 (the session is not known to be gone).
		expectError(t, c.must(t, http.MethodGet, base+path, alice, ""), 503, 503)
	}
	// No session cookie, no store access: answered as usual.
	if got := count(t, c.expect(t, http.StatusOK, http.MethodGet, base+"/counter", "", "")); got != 0 {
		t.Errorf("GET /counter without a session during the outage = %d, want 0", got)
	}
	c.expect(t, http.StatusUnauthorized, http.MethodGet, base+"/me", "", "")
	if d := time.Since(outageStart); d > 5*storeTimeout {
		t.Errorf("the requests during the outage took %v, want them bounded by the store timeout %v", d, storeTimeout)
	}
	// Stay down long enough for the listener's reconnection backoff to
	// grow, as in a real outage.
	time.Sleep(time.Until(stopped.Add(outageLength)))
	if r := c.must(t, http.MethodGet, base+"/me", alice, ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("%v after %v of outage, want 503", r, time.Since(stopped).Round(time.Millisecond))
	}

	// Recovery.
	cluster.Start()
	back := time.Now()
	var healthy, written time.Duration
	for healthy == 0 || written == 0 {
		if healthy == 0 {
			if r, err := c.call(http.MethodGet, base+"/healthz", "", ""); err == nil && r.status == http.StatusOK {
				healthy = time.Since(back)
			}
		}
		if written == 0 {
			if r, err := c.call(http.MethodPut, base+"/prefs/after", alice, `{"value": "yes"}`); err == nil && r.status == http.StatusOK {
				written = time.Since(back)
			}
		}
		if time.Since(back) > recoveryBound {
			t.Fatalf("not recovered %v after the database came back: healthz after %v, write after %v (0: not yet)", recoveryBound, healthy, written)
		}
		time.Sleep(5 * time.Millisecond)
	}
	coherentAgain := time.Since(back) + app.coherent(t, true, recoveryBound)
	t.Logf("database back: /healthz 200 after %v, first write 200 after %v, cache in use again after %v",
		healthy.Round(time.Microsecond), written.Round(time.Microsecond), coherentAgain.Round(time.Millisecond))

	// Every acknowledged write is intact; the failed ones did nothing.
	me := decode[struct {
		User  string
		Count int
	}](t, c.expect(t, http.StatusOK, http.MethodGet, base+"/me", alice, ""))
	wantCount := acked + int(inflightOK.Load())
	if me.User != "alice" || me.Count < wantCount || me.Count > wantCount+int(inflightFailed.Load()) {
		t.Errorf("GET /me after the outage = %+v, want user alice and count %d (%d before the writer, %d acknowledged in flight; at most %d more from failures that committed)",
			me, wantCount, acked, inflightOK.Load(), inflightFailed.Load())
	}
	if me.Count != wantCount {
		t.Logf("count %d, acknowledged %d: %d failed increments committed anyway", me.Count, wantCount, me.Count-wantCount)
	}
	wantPrefs["after"] = "yes"
	prefs := decode[struct{ Prefs map[string]string }](t, c.expect(t, http.StatusOK, http.MethodGet, base+"/prefs", alice, "")).Prefs
	if !maps.Equal(prefs, wantPrefs) {
		t.Errorf("GET /prefs after the outage = %v, want %v", prefs, wantPrefs)
	}
	if got := decode[struct{ User string }](t, c.expect(t, http.StatusOK, http.MethodGet, base+"/me", bob, "")).User; got != "bob" {
		t.Errorf("GET /me of bob after the outage = user %q, want bob (his failed logout and login changed nothing)", got)
	}
	c.login(t, base, "carol")

	// No goroutine leaked by the outage, nor by the app once stopped.
	c.tr.CloseIdleConnections()
	after, dump := goroutines(running)
	t.Logf("goroutines: %d before the app, %d with the app running before the outage, %d after the recovery", before, running, after)
	if after > running {
		t.Errorf("%d goroutines after the recovery, want at most %d as before the outage:\n%s", after, running, dump)
	}
	app.stop()
	c.tr.CloseIdleConnections()
	final, dump := goroutines(before)
	t.Logf("goroutines: %d after the app stopped (baseline %d)", final, before)
	if final > before {
		t.Errorf("%d goroutines after the app stopped, want at most %d as before it started:\n%s", final, before, dump)
	}
}
