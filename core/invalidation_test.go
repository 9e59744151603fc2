package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/memstore"
)

// hub is a shared store for tests: every write is announced to the
// listeners, as PostgreSQL's NOTIFY does, and the test can cut them off.
type hub struct {
	*memstore.Store
	mu        sync.Mutex
	listeners map[chan storage.Invalidation]chan error
}

type sharedView struct{ *hub } // one process's handle on the hub

func (v sharedView) Invalidations() storage.InvalidationSource { return v.hub }

func (h *hub) announce(id string, version int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.listeners {
		ch <- storage.Invalidation{ID: id, Version: version}
	}
}

// cut fails every current listener, as a dropped connection would.
func (h *hub) cut() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, fail := range h.listeners {
		fail <- errors.New("connection lost")
		delete(h.listeners, ch)
	}
}

func (h *hub) Listen(ctx context.Context, ready func(), deliver func(storage.Invalidation)) error {
	ch, fail := make(chan storage.Invalidation, 64), make(chan error, 1)
	h.mu.Lock()
	h.listeners[ch] = fail
	h.mu.Unlock()
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-fail:
			return err
		case inv := <-ch:
			deliver(inv)
		}
	}
}

func (h *hub) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	err := h.Store.Update(ctx, rec, now)
	if err == nil {
		h.announce(rec.ID, rec.Version+1)
	}
	return err
}

func (h *hub) Delete(ctx context.Context, id string) ([]storage.Record, error) {
	removed, err := h.Store.Delete(ctx, id)
	if err == nil {
		h.announce(id, 0)
	}
	return removed, err
}

func (h *hub) listening() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.listeners)
}

func TestInvalidationsKeepInstancesCoherent(t *testing.T) {
	hb := &hub{Store: memstore.New(), listeners: map[chan storage.Invalidation]chan error{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hs []*harness
	var wg sync.WaitGroup
	for range 2 {
		m, err := core.NewManager(sharedView{hb}, core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if !m.Cache().Stats().Bypassed {
			t.Fatal("cache of a shared store used before RunInvalidations listens")
		}
		wg.Go(func() { m.RunInvalidations(ctx) })
		hs = append(hs, &harness{t: t, m: m})
	}
	defer wg.Wait()
	defer cancel()
	waitFor(t, func() bool {
		return hb.listening() == 2 && !hs[0].m.Cache().Stats().Bypassed && !hs[1].m.Cache().Stats().Bypassed
	})

	a, b := hs[0], hs[1]
	token := a.newSession("n", 1)
	b.do(token, 200, func(s *core.Session) { check(t, s, "n", 1) }) // cached on b
	a.do(token, 200, func(s *core.Session) { s.Set("n", 2) })
	waitFor(t, func() bool { return b.m.Cache().Stats().Invalidations > 0 })
	b.do(token, 200, func(s *core.Session) { check(t, s, "n", 2) })

	// A dropped listener makes b bypass its cache until it listens again.
	hb.cut()
	waitFor(t, func() bool { return hb.listening() == 2 })
	a.do(token, 200, func(s *core.Session) {
		if err := s.Destroy(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	waitFor(t, func() bool { return b.m.Cache().Stats().Invalidations > 1 })
	b.do(token, 200, func(s *core.Session) {
		if s.Has("n") {
			t.Error("a destroyed session was served by the other instance")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSharedStoreCacheBypassedUntilListening(t *testing.T) {
	hb := &hub{Store: memstore.New(), listeners: map[chan storage.Invalidation]chan error{}}
	m, err := core.NewManager(sharedView{hb}, core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, m: m}
	token := h.newSession("n", 1)
	hb.Store.Delete(context.Background(), storage.RecordID(token)) // changed elsewhere, unannounced
	h.do(token, 200, func(s *core.Session) {
		if s.Has("n") {
			t.Error("served from a cache that is not following the shared store")
		}
	})
	if st := m.Cache().Stats(); st.Hits != 0 || !st.Bypassed {
		t.Errorf("stats = %+v, want no hits and bypassed", st)
	}
}

// The coherence mode is an explicit state, in Stats and in a log line at
// each change: waiting before the listener runs, listening, lost while
// it reconnects, listening again, stopped when it ends.
func TestCoherenceModeLogged(t *testing.T) {
	hb := &hub{Store: memstore.New(), listeners: map[chan storage.Invalidation]chan error{}}
	logs := &syncBuffer{}
	m, err := core.NewManager(sharedView{hb}, core.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mode := func() string { return m.Stats().Coherence }
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for mode() != want {
			if time.Now().After(deadline) {
				t.Fatalf("coherence %q after 5s, want %q", mode(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if mode() != "waiting" || !m.Stats().Bypassed {
		t.Fatalf("before RunInvalidations: %q, bypassed %v; want waiting, bypassed", mode(), m.Stats().Bypassed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.RunInvalidations(ctx); close(done) }()
	wait("listening")
	hb.cut()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "to=listening") < 2 { // lost, then back after the reconnect delay
		if time.Now().After(deadline) {
			t.Fatalf("not listening again after 5s:\n%s", logs)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if mode() != "stopped" || !m.Stats().Bypassed {
		t.Errorf("after RunInvalidations returned: %q, bypassed %v; want stopped, bypassed", mode(), m.Stats().Bypassed)
	}
	var got []string
	for line := range strings.Lines(logs.String()) {
		if i := strings.Index(line, "to="); i >= 0 {
			got = append(got, strings.Fields(line[i+3:])[0])
		}
	}
	if want := []string{"listening", "lost", "listening", "stopped"}; !slices.Equal(got, want) {
		t.Errorf("logged changes %q, want %q:\n%s", got, want, logs)
	}
	if local, _ := core.NewManager(memstore.New(), core.Config{}); local.Stats().Coherence != "local" {
		t.Errorf("a manager on a store of its own: coherence %q, want local", local.Stats().Coherence)
	}
}
