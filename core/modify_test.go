package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/memstore"
)

// Parallel Modify calls on one session, through two managers with their own
// caches over one store (two app instances), are all counted, and parallel
// Sets of different keys are all kept.
func TestParallelChangesAcrossInstancesLoseNothing(t *testing.T) {
	store := memstore.New()
	var managers []*core.Manager
	for range 2 {
		m, err := core.NewManager(store, core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
	}
	h := &harness{t: t, m: managers[0]}
	token := h.newSession("count", 0)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			r.AddCookie(&http.Cookie{Name: "session", Value: token})
			s, _ := managers[i%2].Begin(r)
			if _, err := core.Modify(context.Background(), s, "count", func(n int, _ bool) int { return n + 1 }); err != nil {
				t.Errorf("Modify: %v", err)
			}
			s.Set(string(rune('a'+i)), i)
			if err := s.Commit(http.Header{}, 200); err != nil {
				t.Errorf("Commit: %v", err)
			}
		})
	}
	wg.Wait()
	for _, m := range managers {
		m.Cache().Purge()
		h := &harness{t: t, m: m}
		h.do(token, 200, func(s *core.Session) {
			check(t, s, "count", n)
			if got := len(s.Keys()); got != n+1 {
				t.Errorf("keys = %d, want %d", got, n+1)
			}
		})
	}
}

func TestModifyReturnsStoredValue(t *testing.T) {
	h := newHarness(t, core.Config{})
	var token string
	resp := h.do("", 200, func(s *core.Session) {
		got, err := core.Modify(context.Background(), s, "cart", func(items []string, ok bool) []string {
			if ok {
				t.Error("fn saw a value in a new session")
			}
			return append(items, "apple")
		})
		if err != nil || len(got) != 1 {
			t.Errorf("Modify = %v, %v; want [apple]", got, err)
		}
	})
	token = resp.cookie.Value
	h.do(token, 500, func(s *core.Session) {
		core.Modify(context.Background(), s, "cart", func(items []string, _ bool) []string { return append(items, "pear") })
	})
	h.do(token, 200, func(s *core.Session) {
		if got, _ := core.Get[[]string](s, "cart"); len(got) != 2 {
			t.Errorf("cart = %v, want [apple pear]: Modify saves at once, even before a 500", got)
		}
	})
	h.store.SetDown(true)
	h.m.Cache().Purge()
	h.do(token, 200, func(s *core.Session) {
		if _, err := core.Modify(context.Background(), s, "n", func(n int, _ bool) int { return n + 1 }); err == nil {
			t.Error("Modify on a failing store returned no error")
		}
	})
}

// A Modify whose save fails is taken back: a retry counts once, and a value
// the request set before it comes back as set.
func TestFailedModifyIsTakenBack(t *testing.T) {
	incr := func(n int, _ bool) int { return n + 1 }
	for _, c := range []struct {
		name string
		set  bool // the request sets n to 10 before its first Modify
		want int
	}{
		{"stored value", false, 2},
		{"value set by the request", true, 11},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, core.Config{})
			token := h.newSession("n", 1)
			resp := h.do(token, 200, func(s *core.Session) {
				if c.set {
					s.Set("n", 10)
				}
				h.store.SetDown(true)
				if _, err := core.Modify(context.Background(), s, "n", incr); !errors.Is(err, core.ErrUnavailable) {
					t.Errorf("Modify on a failing store = %v, want ErrUnavailable", err)
				}
				if got, _ := core.Get[int](s, "n"); got != c.want-1 {
					t.Errorf("after the failed Modify, n = %d, want %d", got, c.want-1)
				}
				h.store.SetDown(false)
				if got, err := core.Modify(context.Background(), s, "n", incr); err != nil || got != c.want {
					t.Errorf("the retried Modify = %d, %v; want %d", got, err, c.want)
				}
			})
			if resp.err != nil {
				t.Fatalf("commit: %v", resp.err)
			}
			h.do(token, 200, func(s *core.Session) {
				if got, _ := core.Get[int](s, "n"); got != c.want {
					t.Errorf("stored n = %d, want %d", got, c.want)
				}
			})
		})
	}
}
