package gormstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/corebridge"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"github.com/hybridsession/hybridsession/memstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setIn serves a request that sets n in the session carried by ck (a new
// one when ck is nil) and returns the session's cookie.
func setIn(t *testing.T, m *core.Manager, ck *http.Cookie, n int) *http.Cookie {
	t.Helper()
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		s.Set("n", n)
	}, ck)
	if c := sessionCookie(t, res); c != nil {
		return c
	}
	return ck
}

// readN serves a request with ck and returns the session's n, or -1.
func readN(m *core.Manager, ck *http.Cookie) int {
	n := -1
	serve(m, func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n = core.GetOr(s, "n", -1)
	}, ck)
	return n
}

// Instances starting at the same moment on a fresh database, and making
// their first sessions at the same moment, agree on one token key: a
// session made through any of them is read through every other.
func TestTokenKeysAgree(t *testing.T) {
	dsn := testdb.NewPostgres(t)
	const n = 4
	managers := make([]*core.Manager, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range managers {
		db := openPool(t, dsn)
		wg.Go(func() {
			<-start
			managers[i], errs[i] = gormstore.Open(context.Background(), db, core.Config{Logger: quiet})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: Open: %v", i, err)
		}
		t.Cleanup(func() { managers[i].Close() })
	}
	// Their first sessions, made at the same moment, each read the keys
	// first: the first key is added by whichever insert wins.
	answers := make([]*http.Response, n)
	start = make(chan struct{})
	for i, m := range managers {
		wg.Go(func() {
			<-start
			answers[i] = serve(m, func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				s.Set("n", i)
			}, nil)
		})
	}
	close(start)
	wg.Wait()
	for i, res := range answers {
		ck := sessionCookie(t, res)
		for j, other := range managers {
			if got := readN(other, ck); got != i {
				t.Errorf("session made by instance %d, read by %d: n = %d, want %d", i, j, got, i)
			}
		}
	}
}

// 500 distinct forged tokens, a replayed one, malformed and tampered ones
// cost no database statement: the tag is checked before the cache and the
// store.
func TestForgedTokens(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			db, _ := testdb.Open(t, kind)
			statements := countStatements(t, db) // before any goroutine uses db
			store, err := gormstore.New(db, gormstore.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			m, err := core.NewManager(store, core.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			real := setIn(t, m, nil, 1) // reads the key ring
			forger, err := core.NewManager(memstore.New(), core.Config{TokenKeys: [][]byte{[]byte(strings.Repeat("f", 32))}})
			if err != nil {
				t.Fatal(err)
			}
			var cookies []*http.Cookie
			for i := range 500 {
				cookies = append(cookies, setIn(t, forger, nil, i))
			}
			raw, _ := base64.RawURLEncoding.DecodeString(real.Value)
			raw[5] ^= 1
			tampered := base64.RawURLEncoding.EncodeToString(raw)
			for range 10 {
				cookies = append(cookies, cookies[0]) // replayed
			}
			for _, v := range []string{tampered, "x", real.Value[:42], strings.Repeat("A", 43)} {
				cookies = append(cookies, &http.Cookie{Name: real.Name, Value: v})
			}
			before := statements.Load()
			for _, ck := range cookies {
				if got := readN(m, ck); got != -1 {
					t.Fatalf("cookie %.12s…: read n = %d, want an empty session", ck.Value, got)
				}
			}
			if got := statements.Load() - before; got != 0 {
				t.Errorf("%d forged, replayed, malformed and tampered cookies cost %d statements, want 0", len(cookies), got)
			}
			if got := m.Stats().RejectedCookies; got != uint64(len(cookies)) {
				t.Errorf("RejectedCookies = %d, want %d", got, len(cookies))
			}
			if got := readN(m, real); got != 1 {
				t.Errorf("the real session after the flood: n = %d, want 1", got)
			}
		})
	}
}

// A rotation through the keys gormstore keeps logs nobody out: a key added
// verifies at every instance's next reread and signs from its time; the
// old key's sessions stop only when it is retired; the key that signs
// cannot be retired.
func TestTokenKeyRotation(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			db, _ := testdb.Open(t, kind)
			store, err := gormstore.New(db, gormstore.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			const refresh = 20 * time.Millisecond
			m, err := core.NewManager(store, core.Config{TokenKeyRefresh: refresh, Cache: core.CacheOptions{TTL: -1}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			old := setIn(t, m, nil, 1)
			keyID := func(ck *http.Cookie) byte {
				raw, _ := base64.RawURLEncoding.DecodeString(ck.Value)
				return raw[0]
			}
			if id := keyID(old); id != 1 {
				t.Fatalf("first token's key id = %d, want 1 (the first key)", id)
			}
			id, err := store.AddTokenKey(t.Context(), time.Now().Add(2*refresh))
			if err != nil || id != 2 {
				t.Fatalf("AddTokenKey = %d, %v; want 2", id, err)
			}
			if early := setIn(t, m, nil, 2); keyID(early) != 1 {
				t.Errorf("before its time the new key signed (key id %d)", keyID(early))
			}
			time.Sleep(3 * refresh)
			neu := setIn(t, m, nil, 3)
			if keyID(neu) != 2 {
				t.Errorf("after its time: token's key id = %d, want 2", keyID(neu))
			}
			if got := readN(m, old); got != 1 {
				t.Errorf("key 1 session once key 2 signs: n = %d, want 1", got)
			}
			if err := store.RetireTokenKey(t.Context(), 2); !errors.Is(err, gormstore.ErrSigningKey) {
				t.Errorf("RetireTokenKey(signing key) = %v, want ErrSigningKey", err)
			}
			if err := store.RetireTokenKey(t.Context(), 1); err != nil {
				t.Fatalf("RetireTokenKey(1) = %v", err)
			}
			time.Sleep(2 * refresh)
			if got := readN(m, old); got != -1 {
				t.Errorf("key 1 session after key 1 retired: n = %d, want an empty session", got)
			}
			if got := readN(m, neu); got != 3 {
				t.Errorf("key 2 session after key 1 retired: n = %d, want 3", got)
			}
		})
	}
}

// A database that held sessions before tokens were tagged keeps them
// working: upgraded by Migrate or by the files, it notes when, and a
// manager looks untagged tokens up (while tagged forgeries still cost
// nothing). A database upgraded while empty has no such window.
func TestUntaggedSessionsKeepWorking(t *testing.T) {
	for _, kind := range testdb.Kinds {
		for _, by := range []string{"Migrate", "files"} {
			for _, held := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/sessions held %v", kind, by, held), func(t *testing.T) {
					db, _ := testdb.Open(t, kind)
					ms := migrations(t, kind)
					applyUps(t, db, ms[:2]) // the schema before tagged tokens
					store, err := gormstore.New(db, gormstore.Options{Logger: quiet})
					if err != nil {
						t.Fatal(err)
					}
					untagged := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
					now := time.Now().UTC().Truncate(time.Microsecond)
					if held {
						rec := storage.Record{ID: storage.RecordID(untagged), Data: encodeN(t, 5), CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
						if err := gormstore.CreateV3(db, rec); err != nil {
							t.Fatal(err)
						}
					}
					if by == "Migrate" {
						if err := store.Migrate(t.Context()); err != nil {
							t.Fatal(err)
						}
					} else {
						applyUps(t, db, ms[2:])
					}
					m, err := core.NewManager(store, core.Config{Logger: quiet})
					if err != nil {
						t.Fatal(err)
					}
					want := -1
					if held {
						want = 5
					}
					if got := readN(m, &http.Cookie{Name: "session", Value: untagged}); got != want {
						t.Errorf("untagged token: n = %d, want %d", got, want)
					}
					forged := strings.Repeat("A", 43)
					statements := countStatements(t, db)
					readN(m, &http.Cookie{Name: "session", Value: forged})
					if got, want := statements.Load(), map[bool]int64{true: 1, false: 0}[held]; got != want {
						t.Errorf("another untagged token cost %d statements, want %d", got, want)
					}
				})
			}
		}
	}
}

// encodeN is the stored form of the values {"n": n}.
func encodeN(t *testing.T, n int) []byte {
	t.Helper()
	v, err := core.JSONCodec{}.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return corebridge.EncodeValues(map[string][]byte{"n": v})
}
