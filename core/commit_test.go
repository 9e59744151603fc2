package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storetest"
)

// increment is a POST /counter: Modify "count", then commit.
func (h *harness) increment(token string) (int, response) {
	var got int
	resp := h.do(token, 200, func(s *core.Session) {
		n, err := core.Modify(context.Background(), s, "count", func(n int, _ bool) int { return n + 1 })
		if err != nil {
			h.t.Errorf("Modify: %v", err)
		}
		got = n
	})
	return got, resp
}

// On one instance the requests of one session take turns in memory: 100
// concurrent increments all succeed with one store update each and no
// reload, and each answers a different count.
func TestConcurrentModifyOnOneInstanceQueues(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("count", 0)
	h.store.Reset()
	const n = 100
	counts := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var resp response
			counts[i], resp = h.increment(token)
			if resp.err != nil {
				t.Errorf("commit: %v", resp.err)
			}
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, c := range counts {
		if seen[c] || c < 1 || c > n {
			t.Fatalf("counts answered = %v, want each of 1..%d once", counts, n)
		}
		seen[c] = true
	}
	if u, f := h.store.Calls(storetest.Update), h.store.Calls(storetest.Find); u != n || f != 0 {
		t.Errorf("%d increments cost %d updates and %d finds, want %d and 0", n, u, f, n)
	}
	h.do(token, 200, func(s *core.Session) { check(t, s, "count", n) })
}

// A Modify function may read its own session; saving it from there is a
// programming error that panics with a message saying so, instead of
// waiting for itself for ever.
func TestModifyFunctionReadsTheSession(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("step", 3)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.do(token, 200, func(s *core.Session) {
			got, err := core.Modify(context.Background(), s, "count", func(n int, _ bool) int {
				return n + core.GetOr(s, "step", 1)
			})
			if err != nil || got != 3 {
				t.Errorf("Modify reading the session = %d, %v; want 3, nil", got, err)
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Modify whose function reads the session did not return: deadlock")
	}

	h.do(token, 200, func(s *core.Session) {
		defer func() {
			msg, _ := recover().(string)
			mustContain(t, msg, "Modify function saved or destroyed the session it modifies")
		}()
		core.Modify(context.Background(), s, "count", func(n int, _ bool) int {
			s.Save(context.Background())
			return n + 1
		})
		t.Error("Modify whose function saves the session did not panic")
	})
}

// A login racing increments of its session keeps every increment that was
// stored on the session: the renewal is conditional on the version it read
// and re-applies itself on a newer one. An increment that comes after the
// renewal starts a fresh session (a new cookie), as a request with the old
// token would; it is never an error.
func TestLoginKeepsConcurrentIncrements(t *testing.T) {
	for round := range 20 {
		h := newHarness(t, core.Config{})
		token := h.newSession("count", 0)
		const n = 20
		restarted := make([]bool, n)
		var login response
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, resp := h.increment(token)
				if resp.err != nil {
					t.Errorf("increment: %v", resp.err)
				}
				restarted[i] = resp.cookie != nil
			})
		}
		wg.Go(func() { login = h.do(token, 200, func(s *core.Session) { s.Login("alice") }) })
		wg.Wait()
		if login.err != nil || login.cookie == nil {
			t.Fatalf("login: %v, cookie %v", login.err, login.cookie)
		}
		kept := 0
		for _, r := range restarted {
			if !r {
				kept++
			}
		}
		h.do(login.cookie.Value, 200, func(s *core.Session) {
			if s.UserID() != "alice" {
				t.Errorf("round %d: user after login = %q, want alice", round, s.UserID())
			}
			if got := core.GetOr(s, "count", 0); got != kept {
				t.Errorf("round %d: count after login = %d, want the %d increments stored on the session", round, got, kept)
			}
		})
	}
}

// A write whose answer is lost (the statement committed, the answer came
// after the deadline) is settled by reading the record again: the request
// is told it succeeded, and nothing is counted twice.
func TestLostAnswerIsSettled(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("count", 0)
	h.store.SetLoseAnswers(true)
	got, resp := h.increment(token)
	h.store.SetLoseAnswers(false)
	if resp.err != nil || got != 1 {
		t.Fatalf("increment with its answer lost = %d, %v; want 1, nil", got, resp.err)
	}
	mustContain(t, h.logs.String(), "session write stored although its answer was lost")
	h.m.Cache().Purge()
	h.do(token, 200, func(s *core.Session) { check(t, s, "count", 1) })

	// A new session too.
	h.store.SetLoseAnswers(true)
	resp = h.do("", 200, func(s *core.Session) { s.Set("k", "v") })
	h.store.SetLoseAnswers(false)
	if resp.err != nil || resp.cookie == nil {
		t.Fatalf("new session with its answer lost: %v, cookie %v; want nil and a cookie", resp.err, resp.cookie)
	}
	h.do(resp.cookie.Value, 200, func(s *core.Session) { check(t, s, "k", "v") })
}

// A write that did not reach the store answers 503 with Retry-After: the
// client may retry, since nothing was stored.
func TestFailedWriteIsUnavailable(t *testing.T) {
	h := newHarness(t, core.Config{})
	token := h.newSession("count", 0)
	h.store.SetDown(true)
	var err error
	h.do(token, 200, func(s *core.Session) {
		_, err = core.Modify(context.Background(), s, "count", func(n int, _ bool) int { return n + 1 })
	})
	h.store.SetDown(false)
	if !errors.Is(err, core.ErrUnavailable) || core.StatusCode(err) != http.StatusServiceUnavailable {
		t.Fatalf("Modify with the store down = %v, want ErrUnavailable (503)", err)
	}
	h.m.Cache().Purge()
	h.do(token, 200, func(s *core.Session) { check(t, s, "count", 0) })
	rec := httptest.NewRecorder()
	core.DefaultErrorHandler(rec, nil, err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("DefaultErrorHandler = %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// Data over MaxDataSize is a 413, not a 500, and stores nothing.
func TestTooLargeIs413(t *testing.T) {
	h := newHarness(t, core.Config{MaxDataSize: 64})
	token := h.newSession("k", "v")
	var err error
	h.do(token, 200, func(s *core.Session) {
		s.Set("big", strings.Repeat("x", 100))
		err = s.Save(context.Background())
	})
	if !errors.Is(err, core.ErrTooLarge) || core.StatusCode(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized save = %v (%d), want ErrTooLarge (413)", err, core.StatusCode(err))
	}
	h.do(token, 200, func(s *core.Session) {
		if s.Has("big") {
			t.Error("an oversized value was stored")
		}
	})
}
