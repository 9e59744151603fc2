package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

func newCache(t *testing.T, opts core.CacheOptions) (*core.Cache, *storetest.Faulty) {
	t.Helper()
	store := storetest.NewFaulty(memstore.New())
	c, err := core.NewCache(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

func record(id string, ttl time.Duration) storage.Record {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return storage.Record{ID: id, Data: []byte("d"), CreatedAt: now, Deadline: now.Add(ttl), ExpiresAt: now.Add(ttl)}
}

func TestCacheReadThroughAndWriteThrough(t *testing.T) {
	ctx := context.Background()
	c, store := newCache(t, core.CacheOptions{})
	if err := c.Create(ctx, record("a", time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, found, err := c.Find(ctx, "a", time.Now()); !found || err != nil {
			t.Fatalf("Find = %v, %v; want found", found, err)
		}
	}
	st := c.Stats()
	if st.Hits != 3 || st.Misses != 0 || store.Calls() != 1 {
		t.Errorf("stats %+v, store calls %d; want 3 hits, 0 misses, 1 store call (the create)", st, store.Calls())
	}
	// A write the store refused never reaches the cache.
	store.SetDown(true)
	rec, _, _ := c.Find(ctx, "a", time.Now())
	rec.Data = []byte("refused")
	if err := c.Update(ctx, rec, time.Now()); err == nil {
		t.Fatal("Update succeeded on a failing store")
	}
	store.SetDown(false)
	got, _, _ := c.Find(ctx, "a", time.Now())
	if string(got.Data) != "d" || got.Version != 1 {
		t.Errorf("after a refused update the cache serves %q v%d, want the stored \"d\" v1", got.Data, got.Version)
	}
}

func TestCacheNeverServesExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c, _ := newCache(t, core.CacheOptions{TTL: time.Hour})
		c.Create(ctx, record("a", time.Minute))
		time.Sleep(time.Minute)
		if _, found, _ := c.Find(ctx, "a", time.Now()); found {
			t.Error("an expired record was served from the cache")
		}
	})
}

func TestCacheTTLBoundsStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c, store := newCache(t, core.CacheOptions{TTL: time.Minute})
		c.Create(ctx, record("a", time.Hour))
		store.Next().Delete(ctx, "a") // behind the cache's back, as another instance would
		if _, found, _ := c.Find(ctx, "a", time.Now()); !found {
			t.Fatal("cached record not served within its TTL")
		}
		time.Sleep(time.Minute + time.Second)
		if _, found, _ := c.Find(ctx, "a", time.Now()); found {
			t.Error("a record deleted in the store was served past the cache TTL")
		}
	})
}

func TestCacheNegative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c, store := newCache(t, core.CacheOptions{NegativeTTL: 5 * time.Second})
		for range 100 {
			c.Find(ctx, "forged", time.Now())
		}
		if got := store.Calls(); got != 1 {
			t.Errorf("store calls for 100 lookups of one unknown id = %d, want 1", got)
		}
		time.Sleep(6 * time.Second)
		c.Find(ctx, "forged", time.Now())
		if got := store.Calls(); got != 2 {
			t.Errorf("store calls after the negative TTL = %d, want 2", got)
		}
		// Creating the id clears its negative entry.
		c.Create(ctx, record("forged", time.Hour))
		if _, found, _ := c.Find(ctx, "forged", time.Now()); !found {
			t.Error("a created record is hidden by the negative cache")
		}
	})
}

func TestCacheSingleFlight(t *testing.T) {
	ctx := context.Background()
	c, store := newSlowCache(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, found, err := c.Find(ctx, "a", time.Now()); !found || err != nil {
				t.Errorf("Find = %v, %v", found, err)
			}
		})
	}
	for store.finds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others pile up behind the first
	close(store.release)
	wg.Wait()
	if got := store.finds.Load(); got != 1 {
		t.Errorf("store finds for 20 concurrent misses = %d, want 1", got)
	}
}

// newSlowCache returns a cache in front of a store holding record "a",
// whose Finds wait until store.release is closed.
func newSlowCache(t *testing.T) (*core.Cache, *slowStore) {
	t.Helper()
	store := &slowStore{Store: memstore.New(), release: make(chan struct{})}
	store.Store.Create(context.Background(), record("a", time.Hour))
	c, err := core.NewCache(store, core.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

type slowStore struct {
	storage.Store
	finds   countingInt
	release chan struct{}
}

type countingInt struct {
	mu sync.Mutex
	n  int
}

func (c *countingInt) Add(d int) { c.mu.Lock(); c.n += d; c.mu.Unlock() }
func (c *countingInt) Load() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (s *slowStore) Find(ctx context.Context, id string, now time.Time) (storage.Record, bool, error) {
	s.finds.Add(1)
	<-s.release
	return s.Store.Find(ctx, id, now)
}

func TestCacheBounded(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, core.CacheOptions{MaxEntries: 100})
	for i := range 1000 {
		rec := record(fmt.Sprint(i), time.Hour)
		if err := c.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // updates re-queue an entry without growing the cache
			if err := c.Update(ctx, storage.Record{ID: rec.ID, Version: 1, ExpiresAt: rec.ExpiresAt, Deadline: rec.Deadline}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := c.Stats()
	if st.Entries != 100 || st.Evictions != 900 {
		t.Errorf("entries %d, evictions %d; want 100, 900", st.Entries, st.Evictions)
	}
	// The newest records are the ones kept.
	before := c.Stats().Misses
	c.Find(ctx, "999", time.Now())
	if c.Stats().Misses != before {
		t.Error("the newest record was evicted")
	}
}

func TestCacheInvalidate(t *testing.T) {
	ctx := context.Background()
	c, store := newCache(t, core.CacheOptions{})
	c.Create(ctx, record("a", time.Hour))
	rec, _, _ := store.Next().Find(ctx, "a", time.Now())
	rec.Data = []byte("newer")
	store.Next().Update(ctx, rec, time.Now()) // another instance saved
	c.Invalidate("a")
	got, _, _ := c.Find(ctx, "a", time.Now())
	if string(got.Data) != "newer" {
		t.Errorf("after Invalidate Find = %q, want the store's newer data", got.Data)
	}
}

// A caller that gives up does not fail the others waiting for the same
// load, and is not kept waiting itself.
func TestCacheSharedLoadOutlivesACancelledCaller(t *testing.T) {
	ctx := context.Background()
	c, store := newSlowCache(t)
	first, cancel := context.WithCancel(ctx)
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := c.Find(first, "a", time.Now())
		firstDone <- err
	}()
	for store.finds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	secondDone := make(chan bool, 1)
	go func() {
		_, found, err := c.Find(ctx, "a", time.Now())
		secondDone <- found && err == nil
	}()
	time.Sleep(10 * time.Millisecond) // let the second join the load
	cancel()
	if err := <-firstDone; !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	close(store.release)
	if ok := <-secondDone; !ok {
		t.Error("the other caller failed with the first caller's cancellation")
	}
	if got := store.finds.Load(); got != 1 {
		t.Errorf("store finds = %d, want 1 shared load", got)
	}
}

// A caller whose context is already done gets ErrUnavailable every time,
// never a record loaded by the (cancellation-proof) shared load.
func TestCacheFindWithADoneContext(t *testing.T) {
	c, _ := newCache(t, core.CacheOptions{})
	c.Create(context.Background(), record("a", time.Hour))
	c.Invalidate("a") // so that Find must load
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 {
		if _, found, err := c.Find(done, "a", time.Now()); found || !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("Find with a done context = %v, %v; want not found and ErrUnavailable", found, err)
		}
	}
}

// The cache stays within MaxBytes, whatever the sizes of its records, and
// a record above MaxRecordBytes is not cached at all.
func TestCacheBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 64 << 10
	c, store := newCache(t, core.CacheOptions{MaxBytes: maxBytes, MaxRecordBytes: 8 << 10})
	for i := range 1000 {
		rec := record(fmt.Sprint(i), time.Hour)
		rec.Data = bytes.Repeat([]byte{'x'}, i%4000)
		if err := c.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Bytes > maxBytes || st.Bytes <= 0 {
			t.Fatalf("after %d puts: %d bytes cached, want within (0, %d]", i+1, st.Bytes, maxBytes)
		}
	}
	big := record("big", time.Hour)
	big.Data = bytes.Repeat([]byte{'x'}, 9<<10)
	if err := c.Create(ctx, big); err != nil {
		t.Fatal(err)
	}
	store.Reset()
	for range 3 {
		if _, found, err := c.Find(ctx, "big", time.Now()); !found || err != nil {
			t.Fatalf("Find(big) = %v, %v", found, err)
		}
	}
	if n := store.Calls(storetest.Find); n != 3 {
		t.Errorf("3 reads of a record above MaxRecordBytes made %d store reads, want 3 (never cached)", n)
	}
	c.Purge()
	if st := c.Stats(); st.Bytes != 0 || st.Entries != 0 {
		t.Errorf("after Purge: %d bytes, %d entries; want 0, 0", st.Bytes, st.Entries)
	}
}

// A session read every 10 ms stays cached through a flood of 100 000 new
// sessions in a cache of 10 000 entries: each read spares it from the next
// eviction. The flood is simulated at 100 000 sessions per second, a read
// every 1 000 new sessions.
func TestCacheKeepsAHotSessionThroughAFlood(t *testing.T) {
	ctx := context.Background()
	c, store := newCache(t, core.CacheOptions{MaxEntries: 10_000})
	hot := record("hot", time.Hour)
	if err := c.Create(ctx, hot); err != nil {
		t.Fatal(err)
	}
	store.Reset()
	for i := range 100_000 {
		if i%1000 == 0 {
			if _, found, err := c.Find(ctx, hot.ID, time.Now()); !found || err != nil {
				t.Fatalf("Find(hot) = %v, %v", found, err)
			}
		}
		if err := c.Create(ctx, record(fmt.Sprint(i), time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.Calls(storetest.Find); n != 0 {
		t.Errorf("the hot session was read from the store %d times during the flood, want 0 (always cached)", n)
	}
	if st := c.Stats(); st.Entries != 10_000 {
		t.Errorf("entries = %d, want 10 000", st.Entries)
	}
}

// Expired entries are swept as the queue moves past them, not only
// replaced by later puts of their ids.
func TestCacheSweepsExpired(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, core.CacheOptions{})
	for i := range 100 {
		if err := c.Create(ctx, record(fmt.Sprint(i), 20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if err := c.Create(ctx, record("new", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Entries != 1 {
		t.Errorf("after the 100 oldest expired and one put: %d entries, want 1", st.Entries)
	}
}

// An Update keeps the stored user and creation time. The cache merges the
// new version into its copy of the one updated; without that copy it does
// not know the kept fields, and leaves the new version to the next read
// rather than cache the caller's.
func TestCacheUpdateKeepsFixedFields(t *testing.T) {
	ctx := context.Background()
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("copy cached=%v", cached), func(t *testing.T) {
			c, store := newCache(t, core.CacheOptions{})
			rec := record("a", time.Hour)
			rec.UserID = "alice"
			if err := c.Create(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if !cached {
				c.Purge()
			}
			next := rec
			next.Version, next.UserID, next.Data = 1, "mallory", []byte("new")
			if err := c.Update(ctx, next, time.Now()); err != nil {
				t.Fatal(err)
			}
			before := store.Calls(storetest.Find)
			got, _, _ := c.Find(ctx, "a", time.Now())
			if got.UserID != "alice" || string(got.Data) != "new" || got.Version != 2 {
				t.Errorf("after Update: %q, %q v%d; want alice, new v2", got.UserID, got.Data, got.Version)
			}
			if lookups, want := store.Calls(storetest.Find)-before, map[bool]int64{true: 0, false: 1}[cached]; lookups != want {
				t.Errorf("the read after the Update cost %d store lookups, want %d", lookups, want)
			}
		})
	}
}
