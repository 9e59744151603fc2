package core_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

func secret(letter byte) []byte { return bytes.Repeat([]byte{letter}, storage.MinTokenKeyBytes) }

// managerOn is a manager with cfg on store, and the harness around it.
func managerOn(t *testing.T, store *storetest.Faulty, cfg core.Config) *harness {
	t.Helper()
	m, err := core.NewManager(store, cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return &harness{t: t, m: m, store: store, logs: &syncBuffer{}}
}

// Rotation with Config.TokenKeys, as an operator does it with a rolling
// deploy: add key 2 after key 1 (both verify, 1 signs), switch (2 signs,
// 1 verifies), retire key 1. Sessions made under key 1 keep working until
// key 1 is retired, and no step logs out a session made under the key
// that signs.
func TestKeyRotation(t *testing.T) {
	store := storetest.NewFaulty(memstore.New())
	uncached := core.Config{Cache: core.CacheOptions{TTL: -1}}
	with := func(keys ...[]byte) *harness {
		cfg := uncached
		cfg.TokenKeys = keys
		return managerOn(t, store, cfg)
	}
	one, added, switched, retired := with(secret('1')), with(secret('1'), secret('2')), with(secret('2'), secret('1')), with(secret('2'))
	reads := func(h *harness, token string) bool {
		var ok bool
		h.do(token, 200, func(s *core.Session) { ok = s.Has("k") })
		return ok
	}
	old := one.newSession("k", 1)
	mid := added.newSession("k", 1) // key 1 still signs
	neu := switched.newSession("k", 1)
	for _, c := range []struct {
		name  string
		h     *harness
		token string
		want  bool
	}{
		{"key 1 session, key 2 added", added, old, true},
		{"key 1 session, key 2 signs", switched, old, true},
		{"key 1 session made while key 2 was added, key 2 signs", switched, mid, true},
		{"key 2 session, read by an instance not yet switched", added, neu, true},
		{"key 2 session, key 1 retired", retired, neu, true},
		{"key 1 session, key 1 retired", retired, old, false},
		{"key 2 session, read by an instance that never had key 2", one, neu, false},
	} {
		if got := reads(c.h, c.token); got != c.want {
			t.Errorf("%s: session read = %v, want %v", c.name, got, c.want)
		}
	}
}

// keyStore is a memstore whose key ring a test sets.
type keyStore struct {
	*memstore.Store
	keys  atomic.Pointer[storage.TokenKeys]
	reads atomic.Int64
	down  atomic.Bool
}

func (k *keyStore) TokenKeys(context.Context) (storage.TokenKeys, error) {
	k.reads.Add(1)
	if k.down.Load() {
		return storage.TokenKeys{}, core.ErrUnavailable
	}
	return *k.keys.Load(), nil
}

func newKeyStore(keys storage.TokenKeys) *keyStore {
	k := &keyStore{Store: memstore.New()}
	k.keys.Store(&keys)
	return k
}

// A KeyStore's keys are read on first use, not at NewManager, and again
// once TokenKeyRefresh has passed: a key added to the store verifies, and
// then signs, on every manager; a retired one stops verifying. A failed
// read keeps the keys read before. With the cache, a token proven under
// the ring read before is checked again under the new one.
func TestKeyStoreRefresh(t *testing.T) {
	t.Run("uncached", func(t *testing.T) { testKeyStoreRefresh(t, core.CacheOptions{TTL: -1}) })
	t.Run("cached", func(t *testing.T) { testKeyStoreRefresh(t, core.CacheOptions{}) })
}

func testKeyStoreRefresh(t *testing.T, cache core.CacheOptions) {
	k1, k2 := storage.ConfigKey(secret('1')), storage.ConfigKey(secret('2'))
	ks := newKeyStore(storage.TokenKeys{Keys: []storage.TokenKey{k1}})
	m, err := core.NewManager(ks, core.Config{TokenKeyRefresh: time.Millisecond, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if n := ks.reads.Load(); n != 0 {
		t.Fatalf("NewManager read the keys %d times; want none until first use", n)
	}
	h := &harness{t: t, m: m, store: storetest.NewFaulty(ks), logs: &syncBuffer{}}
	old := h.newSession("k", 1)
	reads := func(token string) bool {
		var ok bool
		h.do(token, 200, func(s *core.Session) { ok = s.Has("k") })
		return ok
	}
	ks.keys.Store(&storage.TokenKeys{Keys: []storage.TokenKey{k2, k1}})
	time.Sleep(2 * time.Millisecond)
	neu := h.newSession("k", 1)
	if !reads(old) || !reads(neu) {
		t.Fatalf("after adding key 2: old read %v, new read %v; want both", reads(old), reads(neu))
	}
	ks.down.Store(true)
	time.Sleep(2 * time.Millisecond)
	if !reads(neu) {
		t.Error("keys could not be read again: a live session was not read")
	}
	ks.down.Store(false)
	ks.keys.Store(&storage.TokenKeys{Keys: []storage.TokenKey{k2}})
	time.Sleep(2 * time.Millisecond)
	if reads(old) || !reads(neu) {
		t.Errorf("after retiring key 1: old read %v, new read %v; want false, true", reads(old), reads(neu))
	}
}

// A cached session's token has its tag checked once per key ring and
// record version: later reads take it on the cache's word, while a token
// not yet proven, or one whose record was written since, is checked.
func TestProvenTokenNotCheckedAgain(t *testing.T) {
	h := newHarness(t, core.Config{})
	proven, unproven := h.newSession("k", 1), h.newSession("k", 1)
	reads := func(token string) bool {
		var ok bool
		h.do(token, 200, func(s *core.Session) { ok = s.Has("k") })
		return ok
	}
	if !reads(proven) {
		t.Fatal("a new session was not read")
	}
	h.m.SpoilTags()
	if !reads(proven) {
		t.Error("a token proven under this ring had its tag checked again")
	}
	if reads(unproven) {
		t.Error("a token never checked was not checked: spoilt tags let it in")
	}
	// A record written anew is a new cache entry: its token is checked
	// again at the next read.
	h.do(proven, 200, func(s *core.Session) { s.Set("k", 2) })
	if reads(proven) {
		t.Error("after a write, the token was taken without a check: spoilt tags let it in")
	}
	if got := h.m.Stats().RejectedCookies; got != 2 {
		t.Errorf("RejectedCookies = %d, want 2", got)
	}
}

// While the store held sessions from before tokens were tagged, untagged
// tokens are looked up for one lifetime after; before and after that they
// cost nothing.
func TestUntaggedTokens(t *testing.T) {
	untagged := strings.Repeat("A", 43)
	for _, c := range []struct {
		name    string
		since   time.Duration // before now; 0: no untagged sessions
		lookups int64
	}{
		{"never untagged", 0, 0},
		{"window open", time.Hour, 1},
		{"window closed", core.DefaultLifetime + time.Hour, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			keys := storage.TokenKeys{Keys: []storage.TokenKey{storage.ConfigKey(secret('1'))}}
			if c.since != 0 {
				keys.UntaggedSince = time.Now().Add(-c.since)
			}
			store := storetest.NewFaulty(newKeyStore(keys))
			h := managerOn(t, store, core.Config{})
			h.do(untagged, 200, func(s *core.Session) { s.Has("k") })
			if got := store.Calls(storetest.Find); got != c.lookups {
				t.Errorf("an untagged token cost %d lookups, want %d", got, c.lookups)
			}
		})
	}
}

// A session of an untagged token is read from the cache like any other,
// even when a cookie the scan looked up after it follows.
func TestUntaggedSessionCached(t *testing.T) {
	untagged := strings.Repeat("A", 43)
	keys := storage.TokenKeys{Keys: []storage.TokenKey{storage.ConfigKey(secret('1'))}, UntaggedSince: time.Now().Add(-time.Hour)}
	ks := newKeyStore(keys)
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	rec := storage.Record{ID: storage.RecordID(untagged), Data: core.EncodeValues(map[string][]byte{"k": []byte("1")}), Version: 1,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Deadline: t0.Add(time.Hour)}
	if err := ks.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	store := storetest.NewFaulty(ks)
	h := managerOn(t, store, core.Config{})
	for i := range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "session="+untagged+"; session="+strings.Repeat("B", 43))
		s, _ := h.m.Begin(r)
		if !s.Has("k") {
			t.Fatalf("read %d: the untagged session was not read", i+1)
		}
		if err := s.Commit(http.Header{}, http.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.Calls(storetest.Find); got != 1 {
		t.Errorf("3 reads of an untagged session cost %d lookups, want 1 (then the cache)", got)
	}
}

// A store that keeps no keys needs Config.TokenKeys.
func TestKeysRequired(t *testing.T) {
	_, err := core.NewManager(struct{ storage.Store }{memstore.New()}, core.Config{})
	if err == nil || !strings.Contains(err.Error(), "TokenKeys") {
		t.Errorf("NewManager on a store without keys = %v, want an error naming TokenKeys", err)
	}
	if _, err := core.NewManager(struct{ storage.Store }{memstore.New()}, core.Config{TokenKeys: [][]byte{secret('1')}}); err != nil {
		t.Errorf("NewManager with TokenKeys = %v", err)
	}
}

// When the keys cannot be read at first use, the session is unavailable:
// no request is told it has no session when it may have one.
func TestKeysUnreadable(t *testing.T) {
	ks := newKeyStore(storage.TokenKeys{Keys: []storage.TokenKey{storage.ConfigKey(secret('1'))}})
	ks.down.Store(true)
	h := managerOn(t, storetest.NewFaulty(ks), core.Config{})
	h.do("session-cookie-of-any-shape", 200, func(s *core.Session) {
		if err := s.Err(); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("Err = %v, want ErrUnavailable", err)
		}
	})
	// A request without a session cookie needs no key to read.
	h.do("", 200, func(s *core.Session) {
		if err := s.Err(); err != nil {
			t.Errorf("no cookie: Err = %v, want nil", err)
		}
	})
}

// Forged cookies cost no store call, whatever their number, and are
// logged at most once per interval, without their value.
func TestForgedCookiesCostNothing(t *testing.T) {
	h := newHarness(t, core.Config{})
	h.newSession("k", 1) // the ring is read
	h.store.Reset()
	forger := []byte(strings.Repeat("f", storage.MinTokenKeyBytes))
	other, err := core.NewManager(memstore.New(), core.Config{TokenKeys: [][]byte{forger}})
	if err != nil {
		t.Fatal(err)
	}
	oh := &harness{t: t, m: other, store: storetest.NewFaulty(memstore.New()), logs: &syncBuffer{}}
	var forged []string
	for range 500 {
		forged = append(forged, oh.newSession("k", 1))
	}
	for _, tok := range forged {
		h.do(tok, 200, func(s *core.Session) {
			if s.Has("k") {
				t.Fatal("a forged token read a session")
			}
		})
	}
	if n := h.store.Calls(); n != 0 {
		t.Errorf("500 forged tokens cost %d store calls, want 0", n)
	}
	if got := h.m.Stats().RejectedCookies; got != 500 {
		t.Errorf("RejectedCookies = %d, want 500", got)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "session cookie rejected"); n != 1 {
		t.Errorf("%d log lines for 500 rejected cookies in a burst, want 1:\n%s", n, logs)
	}
	for _, tok := range forged {
		if strings.Contains(logs, tok) {
			t.Fatal("a log line holds a forged token")
		}
	}
}
