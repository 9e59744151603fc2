package gormstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// A user with 10 000 sessions, among 100 000 of other users, is listed by
// one statement that PostgreSQL plans on the user_id index.
func TestListUserSessionsPlan(t *testing.T) {
	store, db := open(t, testdb.Postgres)
	err := db.Exec(`INSERT INTO hybrid_sessions (id, user_id, data, version, persistent, created_at, deadline, expires_at, handle, last_seen_at)
		SELECT md5(i::text), CASE WHEN i <= 10000 THEN 'alice' ELSE 'user' || i END, '', 1, true,
			now(), now() + interval '1 day', now() + interval '1 day', substr(md5(i::text || 'h'), 1, 22), now() - i * interval '1 second'
		FROM generate_series(1, 110000) AS i`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("ANALYZE hybrid_sessions").Error; err != nil {
		t.Fatal(err)
	}
	q := gormstore.ListUserSQL(db, "alice", time.Now())
	var plan []string
	if err := db.Raw("EXPLAIN " + q).Scan(&plan).Error; err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "hybrid_sessions_user_id_idx") {
		t.Errorf("plan of %s:\n%s\nwant it to use hybrid_sessions_user_id_idx", q, got)
	} else {
		t.Logf("EXPLAIN %s\n%s", q, got)
	}
	m, err := core.NewManager(store, core.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	statements := countStatements(t, db)
	infos, err := m.UserSessions(t.Context(), "alice")
	if err != nil || len(infos) != 10000 {
		t.Fatalf("UserSessions = %d sessions, %v; want 10000", len(infos), err)
	}
	if n := statements.Load(); n != 1 {
		t.Errorf("listing took %d statements, want 1", n)
	}
	for i := 1; i < len(infos); i++ {
		if infos[i].LastSeenAt.After(infos[i-1].LastSeenAt) {
			t.Fatalf("sessions %d and %d out of order: most recently seen must come first", i-1, i)
		}
	}
}

// A session revoked through instance A is refused by instance B within
// the coherence bound, though B had it cached; so are the others ended by
// RevokeOthers.
func TestRevokeAcrossInstances(t *testing.T) {
	ins, _ := startInstances(t, 2)
	a, b := ins[0], ins[1]
	var tokens []string
	for i := range 3 {
		ck := a.request("", func(s *core.Session) { s.Login("alice"); s.Set("n", i) })
		tokens = append(tokens, ck.Value)
		if got := b.count(ck.Value); got != i {
			t.Fatalf("B reads session %d as %d", i, got)
		}
	}
	var handle string
	b.request(tokens[1], func(s *core.Session) { handle = s.Handle() })
	a.request(tokens[0], func(s *core.Session) {
		if ok, err := s.Revoke(t.Context(), handle); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
	})
	t.Logf("revoke on A refused on B after %v", await(t, func() int { return b.count(tokens[1]) }, -1))
	a.request(tokens[0], func(s *core.Session) {
		if n, err := s.RevokeOthers(t.Context()); n != 1 || err != nil {
			t.Fatalf("RevokeOthers = %d, %v; want 1", n, err)
		}
	})
	t.Logf("RevokeOthers on A refused on B after %v", await(t, func() int { return b.count(tokens[2]) }, -1))
	if got := b.count(tokens[0]); got != 0 {
		t.Errorf("the session that revoked the others reads %d on B, want 0", got)
	}
}

// 100 reads of one session, half on each of two instances, write its
// last-seen time at most twice: once per instance whose copy is a minute
// old, and only in a Touch.
func TestLastSeenWritesAcrossInstances(t *testing.T) {
	var writes [2]*atomic.Int64
	ins, _ := startInstancesWith(t, 2, core.Config{}, func(i int, db *gorm.DB) {
		writes[i] = countStatementsMatching(t, db, "UPDATE")
	})
	ck := ins[0].request("", func(s *core.Session) { s.Login("alice") })
	if err := ins[0].db.Exec("UPDATE hybrid_sessions SET last_seen_at = last_seen_at - interval '2 minutes'").Error; err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		in.m.PurgeCache() // as if the copies were read two minutes ago
	}
	before := writes[0].Load() + writes[1].Load()
	for i := range 100 {
		ins[i%2].request(ck.Value, func(s *core.Session) { s.UserID() })
	}
	total := writes[0].Load() + writes[1].Load() - before
	if total < 1 || total > 2 {
		t.Errorf("100 reads wrote %d UPDATEs, want 1 or 2", total)
	}
	t.Logf("100 reads over two instances: %d last-seen writes", total)
}

// Each hook fires once per event with two instances: both destroying one
// session, both cleaning up the same expired sessions.
func TestHooksAcrossInstances(t *testing.T) {
	var mu sync.Mutex
	events := map[string]int{}
	hook := func(kind string) func(core.Event) {
		return func(e core.Event) {
			mu.Lock()
			defer mu.Unlock()
			events[kind+" "+e.Handle]++
		}
	}
	cfg := core.Config{Lifetime: time.Second, Hooks: core.Hooks{
		Created: hook("created"), Renewed: hook("renewed"), Destroyed: hook("destroyed"), Expired: hook("expired"),
	}}
	ins, _ := startInstancesWith(t, 2, cfg, nil)
	a, b := ins[0], ins[1]
	gone := a.request("", func(s *core.Session) { s.Login("alice") })
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() { in.request(gone.Value, func(s *core.Session) { s.Destroy(context.Background()) }) })
	}
	wg.Wait()
	for range 20 {
		b.request("", func(s *core.Session) { s.Login("bob") })
	}
	time.Sleep(1100 * time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	for _, in := range ins {
		wg.Go(func() { in.m.RunCleanup(ctx, 10*time.Millisecond) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := 0
		for k, v := range events {
			if strings.HasPrefix(k, "expired ") {
				n += v
			}
		}
		mu.Unlock()
		if n >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more cleanup rounds: none may report again
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	counts := map[string]int{}
	for k, v := range events {
		kind, _, _ := strings.Cut(k, " ")
		counts[kind] += v
		if v != 1 {
			t.Errorf("event %q fired %d times, want once", k, v)
		}
	}
	if want := map[string]int{"created": 21, "destroyed": 1, "expired": 20}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", counts, want)
	}
}

// Migrating a table with sessions to schema version 4, by Migrate or by
// the migration file, adds the columns without rewriting a row: the
// table's file (pg_class.relfilenode) stays the same, and the old rows
// read with an empty handle, which their next save fills.
func TestDetailsColumnsWithoutRewrite(t *testing.T) {
	for _, by := range []string{"Migrate", "files"} {
		t.Run(by, func(t *testing.T) {
			db, _ := testdb.Open(t, testdb.Postgres)
			ms := migrations(t, testdb.Postgres)
			applyUps(t, db, ms[:3])
			now := time.Now().UTC().Truncate(time.Microsecond)
			rec := storage.Record{ID: storage.RecordID(by), UserID: "alice", Data: []byte{}, CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
			if err := gormstore.CreateV3(db, rec); err != nil {
				t.Fatal(err)
			}
			file := func() (n int64) {
				if err := db.Raw("SELECT relfilenode FROM pg_class WHERE relname = 'hybrid_sessions'").Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := file()
			store, err := gormstore.New(db, gormstore.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if by == "Migrate" {
				if err := store.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
			} else {
				applyUps(t, db, ms[3:])
			}
			if after := file(); after != before {
				t.Errorf("relfilenode %d before, %d after: the table was rewritten", before, after)
			}
			recs, err := store.ListUser(t.Context(), "alice", now)
			if err != nil || len(recs) != 1 || recs[0].Handle != "" || !recs[0].AuthenticatedAt.IsZero() {
				t.Errorf("ListUser after the migration = %+v, %v; want the old row with no handle and no login time", recs, err)
			}
		})
	}
}

// A revoke on one instance while 16 clients of the revoked session keep
// incrementing it on another, on PostgreSQL: every request is answered
// without an error, and once the revoke is in, no late save brings the
// session back: its token reads nothing on either instance, and the user
// keeps only the session that revoked it.
func TestRevokeDuringContention(t *testing.T) {
	ins, _ := startInstances(t, 2)
	a, b := ins[0], ins[1]
	victim := a.request("", func(s *core.Session) { s.Login("alice") }).Value
	revoker := a.request("", func(s *core.Session) { s.Login("alice") }).Value
	var handle string
	b.request(victim, func(s *core.Session) { handle = s.Handle() })
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := range 10 {
				r, _ := http.NewRequest(http.MethodPost, "/", nil)
				r.AddCookie(&http.Cookie{Name: "session", Value: victim})
				s, _ := b.m.Begin(r)
				if _, err := core.Modify(context.Background(), s, "n", func(n int, _ bool) int { return n + 1 }); err != nil {
					t.Errorf("client %d, round %d: Modify = %v", c, i, err)
				}
				if err := s.Commit(http.Header{}, http.StatusOK); err != nil {
					t.Errorf("client %d, round %d: commit = %v", c, i, err)
				}
			}
		})
	}
	wg.Go(func() {
		a.request(revoker, func(s *core.Session) {
			ok, err := s.Revoke(context.Background(), handle)
			if err != nil || !ok {
				t.Errorf("Revoke = %v, %v", ok, err)
			}
		})
	})
	wg.Wait()
	for _, in := range ins {
		if got := in.count(victim); got != -1 {
			t.Errorf("the revoked session's token reads n = %d after the revoke, want nothing", got)
		}
	}
	infos, err := a.m.UserSessions(t.Context(), "alice")
	if err != nil || len(infos) != 1 {
		t.Errorf("alice's sessions after the revoke: %d, %v; want only the revoker's", len(infos), err)
	}
}

// Logins of one user at the same moment, spread over two instances, leave
// the user at most MaxSessionsPerUser sessions, and none of them fails
// (PostgreSQL): each login ends the others past the cap after it is
// stored, against the sessions it then lists, so that racing logins see
// each other.
func TestSessionCapUnderConcurrentLogins(t *testing.T) {
	const maxSessions = 3
	ins, _ := startInstancesWith(t, 2, core.Config{MaxSessionsPerUser: maxSessions}, nil)
	for _, clients := range []int{2, 16, 100} {
		t.Run(fmt.Sprintf("clients=%d", clients), func(t *testing.T) {
			user := fmt.Sprintf("cap-%d", clients)
			for range maxSessions { // the user is at the cap before the race
				ins[0].request("", func(s *core.Session) { s.Login(user) })
			}
			start := make(chan struct{})
			errs := make([]error, clients)
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					r, _ := http.NewRequest(http.MethodPost, "/login", nil)
					s, _ := ins[i%2].m.Begin(r)
					<-start
					s.Login(user)
					errs[i] = s.Commit(http.Header{}, http.StatusOK)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("login %d: %v", i, err)
				}
			}
			live, err := ins[1].m.UserSessions(t.Context(), user)
			if err != nil {
				t.Fatal(err)
			}
			if len(live) < 1 || len(live) > maxSessions {
				t.Errorf("after %d concurrent logins: %d live sessions, want 1 to %d", clients, len(live), maxSessions)
			}
			t.Logf("%d concurrent logins over two instances: %d live sessions (cap %d)", clients, len(live), maxSessions)
		})
	}
}
