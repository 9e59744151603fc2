package core_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/memstore"
)

// nopStore accepts every write and finds nothing, so that only the cache's
// own memory is measured.
type nopStore struct{ storage.Store }

func (nopStore) Create(context.Context, storage.Record) error { return nil }

// BenchmarkCacheHeap reports the heap held per cached session, for sizing
// Cache.MaxEntries: 100 000 sessions of a logged-in user with a few values.
func BenchmarkCacheHeap(b *testing.B) {
	const n = 100_000
	data := core.EncodeValues(map[string][]byte{
		"count": []byte("42"), "pref:theme": []byte(`"dark"`), "pref:lang": []byte(`"en"`),
	})
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := core.NewCache(nopStore{memstore.New()}, core.CacheOptions{MaxEntries: n})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for i := range n {
			id := storage.RecordID(fmt.Sprint(i))
			c.Create(context.Background(), storage.Record{
				ID: id, UserID: fmt.Sprint("user", i), Data: append([]byte(nil), data...),
				Version: 1, CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
			})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := c.Stats().Entries; got != n {
			b.Fatalf("entries = %d, want %d", got, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/session")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heapMiB/100k")
		runtime.KeepAlive(c)
	}
}

// BenchmarkCacheHeapBound floods a cache bounded to 16 MiB with 100 000
// sessions of 1 KiB of data, and reports the heap it holds afterwards
// against the bound: the estimate of EntryOverhead must keep the real heap
// under MaxBytes.
func BenchmarkCacheHeapBound(b *testing.B) {
	const n, bound = 100_000, 16 << 20
	data := core.EncodeValues(map[string][]byte{"blob": []byte(`"` + strings.Repeat("x", 1000) + `"`), "count": []byte("42")})
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := core.NewCache(nopStore{memstore.New()}, core.CacheOptions{MaxBytes: bound})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for i := range n {
			c.Create(context.Background(), storage.Record{
				ID: storage.RecordID(fmt.Sprint(i)), UserID: fmt.Sprint("user", i), Data: append([]byte(nil), data...),
				Version: 1, CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
			})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		if heap > bound {
			b.Errorf("heap %.1f MiB after the flood, above the %d MiB bound", heap/(1<<20), bound>>20)
		}
		b.ReportMetric(heap/(1<<20), "heapMiB")
		b.ReportMetric(float64(c.Stats().Bytes)/(1<<20), "chargedMiB")
		b.ReportMetric(float64(c.Stats().Entries), "entries")
		runtime.KeepAlive(c)
	}
}
