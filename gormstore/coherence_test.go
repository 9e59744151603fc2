package gormstore_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/gorm"
)

// instance is one app server: its own connection pool, store, manager and
// cache, listening for the others' changes.
type instance struct {
	t  *testing.T
	m  *core.Manager
	db *gorm.DB
}

// startInstances starts n instances on one fresh PostgreSQL database and
// waits until every one listens. It returns them and the database's DSN.
func startInstances(t *testing.T, n int) ([]*instance, string) {
	t.Helper()
	return startInstancesWith(t, n, core.Config{}, nil)
}

// startInstancesWith is startInstances with managers configured by cfg
// (quiet unless cfg has a Logger), calling prepare, if not nil, with each
// instance's pool before anything uses it.
func startInstancesWith(t *testing.T, n int, cfg core.Config, prepare func(i int, db *gorm.DB)) ([]*instance, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	_, dsn := testdb.Open(t, testdb.Postgres)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var out []*instance
	for i := range n {
		db := openPool(t, dsn)
		if prepare != nil {
			prepare(i, db)
		}
		store, err := gormstore.New(db, gormstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		m, err := core.NewManager(store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { m.RunInvalidations(ctx) })
		out = append(out, &instance{t: t, m: m, db: db})
	}
	for _, in := range out {
		in.waitCoherent()
	}
	return out, dsn
}

// openPool opens a connection pool of its own on dsn, as another app
// instance would, closed when the test ends.
func openPool(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := testdb.OpenDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func (in *instance) waitCoherent() {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for in.m.Stats().Bypassed {
		if time.Now().After(deadline) {
			in.t.Fatal("instance not listening after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// request runs fn in a request carrying token and commits it; it returns
// the session cookie set, if any.
func (in *instance) request(token string, fn func(s *core.Session)) *http.Cookie {
	in.t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: "session", Value: token})
	}
	s, _ := in.m.Begin(r)
	fn(s)
	h := http.Header{}
	if err := s.Commit(h, http.StatusOK); err != nil {
		in.t.Fatalf("commit: %v", err)
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

// count reads "n" on this instance; -1 when the session is gone.
func (in *instance) count(token string) int {
	n := -1
	in.request(token, func(s *core.Session) {
		if v, ok := core.Get[int](s, "n"); ok {
			n = v
		}
	})
	return n
}

// await polls until read returns want and reports how long that took.
func await(t *testing.T, read func() int, want int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got := read(); got == want {
			return time.Since(start)
		} else if time.Since(start) > time.Second {
			t.Fatalf("after 1s the other instance still reads %d, want %d", got, want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func TestCoherenceAcrossInstances(t *testing.T) {
	in, _ := startInstances(t, 3)
	a, b, c := in[0], in[1], in[2]
	token := a.request("", func(s *core.Session) { s.Set("n", 0) }).Value
	const tries = 50
	var delays []time.Duration
	for i := 1; i <= tries; i++ {
		if b.count(token) != i-1 || c.count(token) != i-1 { // both cached now
			t.Fatalf("try %d: instances disagree before the change", i)
		}
		a.request(token, func(s *core.Session) { s.Set("n", i) })
		delays = append(delays, await(t, func() int { return b.count(token) }, i))
		await(t, func() int { return c.count(token) }, i)
	}
	slices.Sort(delays)
	t.Logf("save on one instance seen by another: median %v, worst %v over %d tries",
		delays[len(delays)/2], delays[len(delays)-1], tries)
	if hits := b.m.Stats().Hits; hits == 0 {
		t.Error("instance b never hit its cache: the test measured nothing")
	}

	t.Run("renew", func(t *testing.T) {
		b.count(token)
		renewed := a.request(token, func(s *core.Session) { s.Renew() }).Value
		d := await(t, func() int { return b.count(token) }, -1)
		t.Logf("renewal seen by another instance after %v", d)
		if got := c.count(renewed); got != tries {
			t.Errorf("renewed token on another instance reads %d, want %d", got, tries)
		}
		token = renewed
	})
	t.Run("destroy", func(t *testing.T) {
		b.count(token)
		a.request(token, func(s *core.Session) {
			if err := s.Destroy(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		d := await(t, func() int { return b.count(token) }, -1)
		t.Logf("logout seen by another instance after %v", d)
	})
}

func TestCoherenceSurvivesDroppedListener(t *testing.T) {
	in, dsn := startInstances(t, 2)
	a, b := in[0], in[1]
	token := a.request("", func(s *core.Session) { s.Set("n", 1) }).Value
	if got := b.count(token); got != 1 {
		t.Fatalf("b reads %d, want 1", got)
	}
	admin, err := testdb.OpenDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for round := 2; round <= 4; round++ {
		// Once both listen again (a's reconnect may still be under way
		// from the round before), kill every listener connection, as a
		// database restart or a network cut would.
		listening := func() (n int) {
			if err := admin.Raw(`SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		for deadline := time.Now().Add(5 * time.Second); listening() != 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d listeners after 5s, want 2", round, listening())
			}
		}
		var killed int
		if err := admin.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&killed).Error; err != nil || killed != 2 {
			t.Fatalf("terminated %d listeners (%v), want 2", killed, err)
		}
		// Until b listens again, it must not serve its cached copy.
		deadline := time.Now().Add(5 * time.Second)
		for !b.m.Stats().Bypassed {
			if time.Now().After(deadline) {
				t.Fatal("b did not notice its listener was terminated")
			}
			time.Sleep(100 * time.Microsecond)
		}
		a.request(token, func(s *core.Session) { s.Set("n", round) })
		if got := b.count(token); got != round {
			t.Fatalf("round %d: b reads %d while its listener is down, want %d (stale)", round, got, round)
		}
		start := time.Now()
		b.waitCoherent()
		t.Logf("round %d: listener back after %v", round, time.Since(start))
		if got := b.count(token); got != round {
			t.Fatalf("round %d: b reads %d after reconnecting, want %d", round, got, round)
		}
		hits := b.m.Stats().Hits
		b.count(token)
		if b.m.Stats().Hits != hits+1 {
			t.Errorf("round %d: b does not use its cache again after reconnecting", round)
		}
	}
}

func TestInvalidationsRequireTheTrigger(t *testing.T) {
	db, _ := testdb.Open(t, testdb.Postgres)
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("DROP TRIGGER hybrid_sessions_notify ON hybrid_sessions").Error; err != nil {
		t.Fatal(err)
	}
	ready := false
	err = store.Invalidations().Listen(t.Context(), func() { ready = true }, func(storage.Invalidation) {})
	if err == nil || ready || !strings.Contains(err.Error(), "triggers are missing") {
		t.Errorf("Listen without the trigger: ready %v, error %v; want an error naming the triggers", ready, err)
	}
}
