package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// Bounds of the contention tests (examples/README.md, "Concurrency and failures").
const (
	// burstSize is the number of POST /counter of one session in a burst.
	burstSize = 100
	// maxStatementsPerIncrement bounds the SQL statements a burst at
	// concurrency statementsConc sends, per increment, on PostgreSQL.
	maxStatementsPerIncrement = 1.2
	statementsConc            = 100
	// raceIncrements POST /counter race one POST /login, raceRounds times.
	raceIncrements = 20
	raceRounds     = 5
	// listenerReady bounds the wait for the invalidation listener.
	listenerReady = 10 * time.Second
)

// burstConcurrencies are the numbers of clients a burst is sent by.
var burstConcurrencies = []int{2, 16, 100}

// RunContention checks, on one instance of the app newApp builds, once per
// database kind, what examples/README.md promises of contention on one session:
//
//   - "counter/concurrency N": burstSize POST /counter of one session, N at
//     a time, are all answered 200, each count is answered exactly once,
//     the session keeps its token, and GET /counter then says exactly
//     burstSize more; on PostgreSQL at concurrency statementsConc the burst
//     sends at most maxStatementsPerIncrement SQL statements per increment
//     (logged at every concurrency);
//   - "login races increments": see testLoginRace.
//
// The app runs as the example binaries run it, with the cache on and, on
// PostgreSQL, the invalidation listener running (RunInvalidations); the
// subtests run one after the other, so that their logged timings are
// those of an otherwise idle process.
func RunContention(t *testing.T, newApp NewApp) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			in := startInstance(t, kind, newApp)
			for _, conc := range burstConcurrencies {
				t.Run(fmt.Sprintf("counter/concurrency %d", conc), func(t *testing.T) {
					testCounterBurst(t, in, conc)
				})
			}
			t.Run("login races increments", func(t *testing.T) { testLoginRace(t, in) })
		})
	}
}

// instance is one app on a database of its own, served on loopback.
type instance struct {
	kind  testdb.Kind
	base  string
	hc    *http.Client
	stmts *statementCounter // nil: statements are not counted (SQLite)
}

// startInstance makes a manager on a fresh database of the given kind as
// demo.NewManager does, runs its invalidation listener until the test
// ends, waits until the cache is in use, and serves the app on it.
//
// On PostgreSQL the database is opened through pgx with a statementCounter
// as its query tracer, and with the connection pool bounded as
// internal/dbopen bounds the apps' pools (read off a pool it opened).
func startInstance(t *testing.T, kind testdb.Kind, newApp NewApp) *instance {
	t.Helper()
	in := &instance{kind: kind}
	db, dsn := testdb.Open(t, kind)
	if kind == testdb.Postgres {
		db, in.stmts = openCounted(t, db, dsn)
	}
	m, err := demo.NewManager(t.Context(), db, core.Config{Lifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	runInvalidations(t, m)
	in.base = serve(t, newApp(m, demo.DefaultFreshAge)).URL
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * burstSize, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	in.hc = &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return in
}

// runInvalidations runs m's invalidation listener until the test ends, as
// demo.Serve does, and waits until the cache is in use (on PostgreSQL it
// is bypassed until the listener listens).
func runInvalidations(t *testing.T, m *core.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.RunInvalidations(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); m.Stats().Bypassed; time.Sleep(time.Millisecond) {
		if time.Since(start) > listenerReady {
			t.Fatalf("the session cache is still bypassed %v after RunInvalidations started", listenerReady)
		}
	}
}

// openCounted opens dsn again, as GORM on pgx like gorm.io/driver/postgres
// does but with a statementCounter tracing every statement, bounds its
// pool as plain's and closes plain.
func openCounted(t *testing.T, plain *gorm.DB, dsn string) (*gorm.DB, *statementCounter) {
	t.Helper()
	plainSQL, err := plain.DB()
	if err != nil {
		t.Fatal(err)
	}
	maxConns := plainSQL.Stats().MaxOpenConnections
	plainSQL.Close()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	sc := &statementCounter{listeners: map[*pgx.Conn]bool{}}
	cfg.Tracer = sc
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	if maxConns > 0 {
		sqlDB.SetMaxOpenConns(maxConns)
		sqlDB.SetMaxIdleConns(maxConns)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return db, sc
}

// statementCounter counts the SQL statements pgx sends to the server, as
// its query and batch tracer. It sits below database/sql and GORM, so it
// sees every statement whoever issues it: GORM's queries and updates, the
// BEGIN and COMMIT (or ROLLBACK) of each transaction (pgx sends them as
// statements), raw SQL, and pings through pgx. It ignores the connection of
// the invalidation listener, recognized by its LISTEN: that connection
// runs no session statement, only a check at start and a ping every few
// seconds of silence, which are no cost of an increment. Counting in the
// client, per statement and synchronously, is exact, unlike the
// pg_stat_database transaction counters, which are flushed asynchronously,
// count a transaction of several statements once and include the
// listener's pings.
type statementCounter struct {
	n         atomic.Int64
	mu        sync.Mutex
	listeners map[*pgx.Conn]bool
}

func (sc *statementCounter) count(conn *pgx.Conn, sql string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(sql)), "LISTEN ") {
		sc.listeners[conn] = true
	}
	if !sc.listeners[conn] {
		sc.n.Add(1)
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (sc *statementCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	sc.count(conn, data.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (sc *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (sc *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer: each query of a batch counts.
func (sc *statementCounter) TraceBatchQuery(_ context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	sc.count(conn, data.SQL)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (sc *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// statements is the number of statements counted so far; 0 without a
// counter.
func (in *instance) statements() int64 {
	if in.stmts == nil {
		return 0
	}
	return in.stmts.n.Load()
}

// call sends one request with the session token (none when "") and a JSON
// body (none when ""); wrote, when not nil, is called once the request has
// been written to the connection. It does not touch a testing.T, so
// goroutines may use it.
func (in *instance) call(method, path, token, body string, wrote func()) (response, error) {
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx := context.Background()
	if wrote != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote() },
		})
	}
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
	}
	r := response{method: method, path: path}
	res, err := in.hc.Do(req)
	if err != nil {
		return r, err
	}
	defer res.Body.Close()
	r.status, r.header = res.StatusCode, res.Header
	if r.body, err = io.ReadAll(res.Body); err != nil {
		return r, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return r, nil
}

// must is call that fails the test on a transport error.
func (in *instance) must(t *testing.T, method, path, token, body string) response {
	t.Helper()
	r, err := in.call(method, path, token, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// setToken is the session token r sets; "" when it sets none or expires
// the cookie.
func setToken(t *testing.T, r response) string {
	t.Helper()
	if ck := r.cookie(t); ck != nil && ck.MaxAge >= 0 {
		return ck.Value
	}
	return ""
}

// answeredCount is the count of a POST or GET /counter answer.
func answeredCount(t *testing.T, r response) int {
	t.Helper()
	var body struct {
		Count *int `json:"count"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Count == nil {
		t.Fatalf("%s %s: body %q is not {\"count\": n}", r.method, r.path, r.body)
	}
	return *body.Count
}

// newSession makes a session with one POST /counter and returns its token.
func newSession(t *testing.T, in *instance) string {
	t.Helper()
	r := in.must(t, "POST", "/counter", "", "")
	r.want(t, http.StatusOK, `{"count":1}`)
	tok := setToken(t, r)
	if tok == "" {
		t.Fatalf("POST /counter of a new visitor set no session cookie")
	}
	return tok
}

// InParallel calls do(i) for i in [0, n), at most conc at a time, all
// released at once, and returns when all have returned.
func InParallel(n, conc int, do func(i int)) {
	sem := make(chan struct{}, conc)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			do(i)
		})
	}
	close(start)
	wg.Wait()
}

// WantEachOnce checks that counts are exactly from, from+1, ..., each once.
func WantEachOnce(t *testing.T, what string, counts []int, from int) {
	t.Helper()
	seen := map[int]int{}
	for _, c := range counts {
		seen[c]++
	}
	var dup, missing []int
	for c, k := range seen {
		if k > 1 || c < from || c >= from+len(counts) {
			dup = append(dup, c)
		}
	}
	for c := from; c < from+len(counts); c++ {
		if seen[c] == 0 {
			missing = append(missing, c)
		}
	}
	if len(dup) > 0 || len(missing) > 0 {
		slices.Sort(dup)
		t.Errorf("%s: %d answers 200 want each count %d..%d answered once; answered twice or out of range: %v, never answered: %v",
			what, len(counts), from, from+len(counts)-1, dup, missing)
	}
}

// testCounterBurst sends burstSize POST /counter of one session, conc at a
// time.
func testCounterBurst(t *testing.T, in *instance, conc int) {
	tok := newSession(t, in)
	replies := make([]response, burstSize)
	errs := make([]error, burstSize)
	took := make([]time.Duration, burstSize)
	before := in.statements()
	start := time.Now()
	InParallel(burstSize, conc, func(i int) {
		t0 := time.Now()
		replies[i], errs[i] = in.call("POST", "/counter", tok, "", nil)
		took[i] = time.Since(t0)
	})
	elapsed := time.Since(start)
	stmts := in.statements() - before

	var counts []int
	failures := map[string]int{}
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("POST /counter #%d: %v", i, errs[i])
		}
		if r.status != http.StatusOK {
			failures[fmt.Sprintf("%d %s", r.status, strings.TrimSpace(string(r.body)))]++
			continue
		}
		if got := setToken(t, r); got != "" && got != tok {
			t.Errorf("POST /counter #%d moved the session to another token (answer %s)", i, r.body)
		}
		counts = append(counts, answeredCount(t, r))
	}
	for f, k := range failures {
		t.Errorf("%d of %d POST /counter answered %s, want 200", k, burstSize, f)
	}
	WantEachOnce(t, fmt.Sprintf("POST /counter at concurrency %d", conc), counts, 2)
	final := answeredCount(t, in.must(t, "GET", "/counter", tok, ""))
	if final != 1+burstSize {
		t.Errorf("GET /counter after %d POST /counter (%d answered 200) = %d, want %d; lost updates: %d",
			burstSize, len(counts), final, 1+burstSize, 1+burstSize-final)
	}

	slices.Sort(took)
	msg := fmt.Sprintf("%s, one instance: %d POST /counter at concurrency %d took %v (per request: median %v, worst %v); %d answered 200; final count %d (want %d)",
		in.kind, burstSize, conc, elapsed.Round(time.Millisecond), took[len(took)/2].Round(time.Microsecond),
		took[len(took)-1].Round(time.Microsecond), len(counts), final, 1+burstSize)
	if in.stmts == nil {
		t.Log(msg + "; SQL statements not counted on SQLite")
		return
	}
	if stmts == 0 {
		t.Fatalf("the statement counter saw no statement during %d POST /counter: it is not tracing the app's database", burstSize)
	}
	per := float64(stmts) / burstSize
	t.Logf("%s; %d SQL statements, %.2f per increment", msg, stmts, per)
	if conc == statementsConc && per > maxStatementsPerIncrement {
		t.Errorf("%d POST /counter at concurrency %d sent %d SQL statements, %.2f per increment; want at most %.1f",
			burstSize, conc, stmts, per, maxStatementsPerIncrement)
	}
}

// testLoginRace races a login against raceIncrements increments of one
// session, raceRounds times, each on a fresh session; see checkLoginRace.
func testLoginRace(t *testing.T, in *instance) {
	for round := range raceRounds {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			checkLoginRace(t, in, fmt.Sprintf("racer-%d", round))
		})
	}
}

// checkLoginRace makes a session (count 1), then sends raceIncrements POST
// /counter with its token and, once all of them have been written to
// their connections, POST /login of user with the same token, and checks
// what examples/README.md promises:
//
//   - the login answers 200 {"user": user} and sets a new token;
//   - every increment is answered 200 ("never an error"); the answer
//     either keeps the session (it sets no token or the old one) or, for an
//     increment that came after the renewal, is a fresh session: it sets
//     a token of its own, answers count 1, and that session is its own
//     (GET /counter 1, GET /me 401). No answer but the login's sets the
//     new token ("never follows the session to its new token");
//   - every increment that kept the session is kept after the login: their
//     counts are 2, 3, ..., each once, and GET /me with the new token says
//     the user and 1 + their number ("a value saved by a concurrent
//     request while another request renews the token is kept");
//   - the old token is dead: GET /me 401, GET /counter 0.
func checkLoginRace(t *testing.T, in *instance, user string) {
	old := newSession(t, in)
	var written atomic.Int32
	allWritten := make(chan struct{})
	wrote := func() {
		if written.Add(1) == raceIncrements {
			close(allWritten)
		}
	}
	incs := make([]response, raceIncrements)
	errs := make([]error, raceIncrements)
	answered := make([]time.Time, raceIncrements)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		InParallel(raceIncrements, raceIncrements, func(i int) {
			incs[i], errs[i] = in.call("POST", "/counter", old, "", wrote)
			answered[i] = time.Now()
		})
	})
	select {
	case <-allWritten:
	case <-time.After(10 * time.Second):
		wg.Wait()
		t.Fatalf("only %d of %d POST /counter were written within 10s", written.Load(), raceIncrements)
	}
	loginSent := time.Now()
	login, err := in.call("POST", "/login", old, fmt.Sprintf(`{"username": %q}`, user), nil)
	loginAnswered := time.Now()
	wg.Wait()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("POST /login: %v", err)
	}
	login.want(t, http.StatusOK, fmt.Sprintf(`{"user":%q}`, user))
	renewed := setToken(t, login)
	if renewed == "" || renewed == old {
		t.Fatalf("POST /login set token %q, want a new one (the old: %q)", renewed, old)
	}

	var kept []int
	fresh := map[string]bool{}
	afterLoginSent, afterLogin := 0, 0
	for i, r := range incs {
		if errs[i] != nil {
			t.Fatalf("POST /counter #%d: %v", i, errs[i])
		}
		if answered[i].After(loginSent) {
			afterLoginSent++
		}
		if answered[i].After(loginAnswered) {
			afterLogin++
		}
		if r.status != http.StatusOK {
			t.Errorf("POST /counter #%d racing the login = %d %s, want 200 (a renewed token gets a fresh session, never an error)",
				i, r.status, strings.TrimSpace(string(r.body)))
			continue
		}
		n := answeredCount(t, r)
		switch tok := setToken(t, r); tok {
		case "", old:
			kept = append(kept, n)
		case renewed:
			t.Errorf("POST /counter #%d with the old token was given the session's new token (count %d); want the old session or a fresh one", i, n)
		default:
			if fresh[tok] {
				t.Errorf("two POST /counter were given the same fresh session")
			}
			fresh[tok] = true
			if n != 1 {
				t.Errorf("POST /counter #%d got a fresh session and answered count %d, want 1", i, n)
			}
		}
	}
	WantEachOnce(t, "POST /counter that kept the session", kept, 2)
	in.must(t, "GET", "/me", renewed, "").want(t, http.StatusOK, fmt.Sprintf(`{"user":%q,"count":%d}`, user, 1+len(kept)))
	for tok := range fresh {
		in.must(t, "GET", "/counter", tok, "").want(t, http.StatusOK, `{"count":1}`)
		in.must(t, "GET", "/me", tok, "").wantError(t, http.StatusUnauthorized)
	}
	in.must(t, "GET", "/me", old, "").wantError(t, http.StatusUnauthorized)
	in.must(t, "GET", "/counter", old, "").want(t, http.StatusOK, `{"count":0}`)
	t.Logf("%s, one instance: login raced %d POST /counter in %v (login answered %v after it was sent): %d kept the session, %d got a fresh session, %d failed; %d answered after the login was sent, %d after it was answered",
		in.kind, raceIncrements, took.Round(time.Millisecond), loginAnswered.Sub(loginSent).Round(time.Microsecond),
		len(kept), len(fresh), raceIncrements-len(kept)-len(fresh), afterLoginSent, afterLogin)
}
