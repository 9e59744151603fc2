package peers

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"time"

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

// CacheHeap fills a core.Cache bounded to n entries with n sessions of a
// logged-in user holding three values, and returns the heap held per
// session; then it puts 10 % more and reports how many the cache kept.
func CacheHeap(n int) (HeapResult, error) {
	data := core.EncodeValues(map[string][]byte{
		"count": []byte("42"), "theme": []byte(`"dark"`), "lang": []byte(`"en"`),
	})
	now := time.Now()
	put := func(c *core.Cache, i int) error {
		return c.Create(context.Background(), storage.Record{
			ID: storage.RecordID(strconv.Itoa(i)), UserID: "user" + strconv.Itoa(i), Data: append([]byte(nil), data...),
			Version: 1, Persistent: true, CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
		})
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := core.NewCache(acceptStore{}, core.CacheOptions{MaxEntries: n})
	if err != nil {
		return HeapResult{}, err
	}
	for i := range n {
		if err := put(c, i); err != nil {
			return HeapResult{}, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := c.Stats().Entries; got != n {
		return HeapResult{}, fmt.Errorf("cache holds %d entries after %d puts, want %d", got, n, n)
	}
	res := HeapResult{Sessions: n, BytesPerSession: (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)}
	res.Overfill = n + n/10
	for i := n; i < res.Overfill; i++ {
		if err := put(c, i); err != nil {
			return HeapResult{}, err
		}
	}
	res.Held = c.Stats().Entries
	runtime.KeepAlive(c)
	return res, nil
}
