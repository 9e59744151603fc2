package core_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/memstore"
)

// hookedView is one process's handle on a hub whose next successful
// Update runs afterUpdate before returning: the moment between a write's
// commit and its caching, when another process may change the record.
type hookedView struct {
	sharedView
	once        sync.Once
	afterUpdate func()
}

func (v *hookedView) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	err := v.sharedView.Update(ctx, rec, now)
	if err == nil {
		v.once.Do(v.afterUpdate)
	}
	return err
}

// TestCacheKeepsOutAWriteAnnouncedStale checks that a write whose record
// another process destroyed right after it (and whose announcement came
// before the write was cached) is not cached: the destroyed session must
// not be served by the writer's cache until the TTL.
func TestCacheKeepsOutAWriteAnnouncedStale(t *testing.T) {
	hb := &hub{Store: memstore.New(), listeners: map[chan storage.Invalidation]chan error{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var a, b *harness
	view := &hookedView{sharedView: sharedView{hb}}
	for i, store := range []storage.Store{view, sharedView{hb}} {
		m, err := core.NewManager(store, core.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { m.RunInvalidations(ctx) })
		if i == 0 {
			a = &harness{t: t, m: m}
		} else {
			b = &harness{t: t, m: m}
		}
	}
	waitFor(t, func() bool {
		return hb.listening() == 2 && !a.m.Cache().Stats().Bypassed && !b.m.Cache().Stats().Bypassed
	})
	token := b.newSession("n", 1)
	// Counted before a's write: its own announcement may be delivered
	// before afterUpdate runs.
	seen := a.m.Cache().Stats().Invalidations
	view.afterUpdate = func() {
		b.do(token, 200, func(s *core.Session) {
			if err := s.Destroy(context.Background()); err != nil {
				t.Error(err)
			}
		})
		// a's own update and b's destroy are announced before a caches.
		waitFor(t, func() bool { return a.m.Cache().Stats().Invalidations >= seen+2 })
	}
	a.do(token, 200, func(s *core.Session) { s.Set("n", 2) })
	a.do(token, 200, func(s *core.Session) {
		if s.Has("n") {
			t.Error("the writer's cache serves a session destroyed by another process after the write, want it gone")
		}
	})
}
