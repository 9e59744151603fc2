package peers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
)

// acceptStore takes every write and finds nothing, so that only the
// cache's own memory is measured.
type acceptStore struct{ storage.Store }

func (acceptStore) Create(context.Context, storage.Record) error { return nil }

// HeapResult is the heap the cache holds for n sessions.
type HeapResult struct {
	Sessions        int
	BytesPerSession float64
	// Overfill is how many sessions were put into a cache bounded to
	// Sessions entries, and Held how many it then held.
	Overfill, Held int
}

// CacheHeap fills the cache of a manager bounded to n entries with n new
// sessions of a logged-in user holding three values, made through the
// manager as requests make them, and returns the heap held per session;
// then it makes 10 % more and reports how many the cache kept.
func CacheHeap(n int) (HeapResult, error) {
	m, err := core.NewManager(acceptStore{}, core.Config{
		TokenKeys: [][]byte{make([]byte, storage.MinTokenKeyBytes)},
		Cache:     core.CacheOptions{MaxEntries: n},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return HeapResult{}, err
	}
	put := func(i int) error {
		r, err := http.NewRequest(http.MethodPost, "/", nil)
		if err != nil {
			return err
		}
		s, _ := m.Begin(r)
		s.Login("user" + strconv.Itoa(i))
		s.Set("count", 42)
		s.Set("theme", "dark")
		s.Set("lang", "en")
		return s.Commit(http.Header{}, http.StatusOK)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		if err := put(i); err != nil {
			return HeapResult{}, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := m.Stats().Entries; got != n {
		return HeapResult{}, fmt.Errorf("cache holds %d entries after %d sessions, want %d", got, n, n)
	}
	res := HeapResult{Sessions: n, BytesPerSession: (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)}
	res.Overfill = n + n/10
	for i := n; i < res.Overfill; i++ {
		if err := put(i); err != nil {
			return HeapResult{}, err
		}
	}
	res.Held = m.Stats().Entries
	runtime.KeepAlive(m)
	return res, nil
}
