package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"github.com/hybridsession/hybridsession/core/storage"
)

// CacheOptions configures the in-process cache in front of a store.
type CacheOptions struct {
	// TTL bounds how long a record is served from the cache without asking
	// the store; a record is never served past its own expiry. Negative
	// disables the cache. Default: 5 minutes.
	TTL time.Duration
	// MaxEntries bounds the number of cached records. Beyond it, or beyond
	// MaxBytes, the least recently stored records are evicted first, but a
	// record read since it was stored (or last spared) is spared once and
	// goes to the back of the line: a session in use survives a flood of new
	// ones. Default: 100 000.
	MaxEntries int
	// MaxBytes bounds the memory of the cached records, as estimated from
	// their size: data, ids and a fixed entryOverhead per record for the
	// map, the decoded index and the bookkeeping. Default: 128 MiB.
	MaxBytes int64
	// MaxRecordBytes is the estimated size above which a record is not
	// cached at all (it is read from the store each time), so that a few
	// large sessions cannot push out many small ones. Default: MaxBytes/256
	// (512 KiB), above the largest session Config.MaxDataSize allows by
	// default.
	MaxRecordBytes int64
	// NegativeTTL is how long an unknown record id is remembered as unknown,
	// so that a replayed forged or stale cookie costs at most one store
	// query per period. Negative disables it. Default: 5 seconds.
	NegativeTTL time.Duration
}

// cache defaults.
const (
	defaultCacheTTL         = 5 * time.Minute
	defaultCacheMaxEntries  = 100_000
	defaultCacheNegativeTTL = 5 * time.Second
	defaultCacheMaxBytes    = 128 << 20
	// entryOverhead is what the cache charges a record beyond its data and
	// ids: go-cache's map slot and item, the entry, and the decoded index
	// of its values (charged per value on top). Measured with
	// BenchmarkCacheHeap.
	entryOverhead = 512
	// valueOverhead is what the decoded index charges per value.
	valueOverhead = 40
)

func (o CacheOptions) withDefaults() (CacheOptions, error) {
	if o.TTL == 0 {
		o.TTL = defaultCacheTTL
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = defaultCacheMaxEntries
	}
	if o.MaxEntries < 0 {
		return o, fmt.Errorf("core: negative Cache.MaxEntries %d", o.MaxEntries)
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = defaultCacheNegativeTTL
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = defaultCacheMaxBytes
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = o.MaxBytes / 256
	}
	if o.MaxBytes < 0 || o.MaxRecordBytes < 0 {
		return o, fmt.Errorf("core: negative Cache.MaxBytes %d or MaxRecordBytes %d", o.MaxBytes, o.MaxRecordBytes)
	}
	return o, nil
}

// entry is what the cache holds for an id.
type entry struct {
	rec    storage.Record
	values storedValues // rec.Data decoded, shared and never modified; nil if corrupt
	seq    uint64       // the put that stored it
	size   int64        // bytes charged for it
	read   atomic.Bool  // read since stored or last spared from eviction
	// proven is the key ring under which the token naming this record
	// last proved authentic; a request with that token and that ring
	// needs no tag check (see Session.known).
	proven atomic.Pointer[keyring]
}

// entrySize is the estimated memory of a cached record with n values.
func entrySize(rec *storage.Record, n int) int64 {
	return int64(entryOverhead + len(rec.Data) + len(rec.ID) + len(rec.UserID) + n*valueOverhead)
}

// placed is one put, in the eviction queue.
type placed struct {
	id  string
	seq uint64
}

// CacheStats are the counters of a cache since it was made.
type CacheStats struct {
	Hits          uint64 // lookups of a session answered from a cached record
	NegativeHits  uint64 // lookups answered "not found" from the negative cache
	Misses        uint64 // lookups that asked the store
	Errors        uint64 // store calls that failed
	Evictions     uint64 // records dropped to stay within MaxEntries
	Invalidations uint64 // changes announced by other processes
	Entries       int    // records held now, expired ones included until swept
	Bytes         int64  // their estimated memory (see CacheOptions.MaxBytes)
	Bypassed      bool   // reads go to the store: invalidations are not being received
	Coherence     string // how the cache follows other instances' changes: local, waiting, listening, lost or stopped
}

// cache is a read-through, write-through cache in front of a Store, in the
// manner of Django's cached_db: writes go to the store first and reach the
// cache only once the store accepted them; reads are answered from memory
// while the cached record is fresh and unexpired. Concurrent misses of one
// id share a single store query. It is safe for concurrent use.
type cache struct {
	next    storage.Store
	opts    CacheOptions
	items   *gocache.Cache // id -> entry
	unknown *gocache.Cache // id -> struct{}, the negative cache
	loads   singleflight.Group

	mu    sync.Mutex   // serializes changes of items with epoch and order
	epoch uint64       // grows with every change; a load that saw it move is not cached
	seq   uint64       // numbers the puts
	order []placed     // puts, oldest first, for eviction
	bytes atomic.Int64 // estimated memory of items; changed under mu
	// writes holds the updates in flight, by id, so that a change announced
	// while one is in flight keeps its result out of the cache.
	writes map[string]*pendingWrite

	mode atomic.Int32 // a coherence: what the cache may serve

	hits, negativeHits, misses, errs, evictions, invalidations atomic.Uint64
}

var _ storage.Store = (*cache)(nil)

// newCache returns a cache in front of store. It starts no goroutine.
func newCache(store storage.Store, opts CacheOptions) (*cache, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.TTL < 0 {
		return nil, errors.New("core: newCache with a negative TTL; use the store directly")
	}
	c := &cache{
		next:    store,
		opts:    opts,
		items:   gocache.New(opts.TTL, 0),
		unknown: gocache.New(opts.NegativeTTL, 0),
	}
	// Every removal (Delete, DeleteExpired) gives the entry's bytes back;
	// put does so for the entries it overwrites.
	c.items.OnEvicted(func(_ string, v any) { c.bytes.Add(-v.(*entry).size) })
	return c, nil
}

// coherence is what a cache may serve, given how it follows the changes
// that other processes make to a shared store; CacheStats.Coherence names
// it. A cache serves from memory only when local or listening.
type coherence int32

const (
	// local: the store is not shared (memstore, SQLite), or nothing
	// announces its changes; the cache serves what it holds.
	local coherence = iota
	// waiting: a shared store, not yet listened to (RunInvalidations or
	// Start not running yet); every read asks the store.
	waiting
	// listening: the cache follows the other processes' changes.
	listening
	// lost: the listener lost its connection and is reconnecting; every
	// read asks the store.
	lost
	// stopped: the listener was stopped (Close); every read asks the
	// store.
	stopped
)

var coherenceNames = [...]string{"local", "waiting", "listening", "lost", "stopped"}

func (c coherence) String() string { return coherenceNames[c] }

func (c *cache) coherence() coherence { return coherence(c.mode.Load()) }

// bypassed reports whether the cache must serve nothing from memory: it
// may have missed other processes' changes.
func (c *cache) bypassed() bool {
	m := c.coherence()
	return m != local && m != listening
}

// setCoherence moves the cache to mode and logs the change, if it is one,
// which it reports.
func (m *Manager) setCoherence(mode coherence, attrs ...any) bool {
	old := coherence(m.cache.mode.Swap(int32(mode)))
	if old == mode {
		return false
	}
	attrs = append(attrs, "from", old.String(), "to", mode.String())
	switch mode {
	case listening:
		m.cfg.Logger.Info("session cache coherent: listening for other instances' changes", attrs...)
	case lost:
		m.cfg.Logger.Warn("session cache bypassed: the changes of other instances are not received until the listener reconnects", attrs...)
	default:
		m.cfg.Logger.Info("session cache bypassed: reads go to the store", attrs...)
	}
	return true
}

// Stats returns the cache's counters.
func (c *cache) Stats() CacheStats {
	return CacheStats{
		Hits:          c.hits.Load(),
		NegativeHits:  c.negativeHits.Load(),
		Misses:        c.misses.Load(),
		Errors:        c.errs.Load(),
		Evictions:     c.evictions.Load(),
		Invalidations: c.invalidations.Load(),
		Entries:       c.items.ItemCount(),
		Bytes:         c.bytes.Load(),
		Bypassed:      c.bypassed(),
		Coherence:     c.coherence().String(),
	}
}

// Invalidate drops the cached record id, so that the next Find asks the
// store. Invalidation buses call it when another instance changed id.
func (c *cache) Invalidate(id string) {
	c.mu.Lock()
	c.epoch++
	c.items.Delete(id)
	if w := c.writes[id]; w != nil {
		w.announced = -1
	}
	c.mu.Unlock()
}

// apply drops the cached copy of a record another process changed, unless
// the copy is already as new as the change (this process's own write).
func (c *cache) apply(inv storage.Invalidation) {
	c.invalidations.Add(1)
	c.mu.Lock()
	c.epoch++ // a load in flight may have read the old version
	if v, ok := c.items.Get(inv.ID); ok && (inv.Version == 0 || v.(*entry).rec.Version < inv.Version) {
		c.items.Delete(inv.ID)
	}
	if w := c.writes[inv.ID]; w != nil && w.announced >= 0 {
		if inv.Version == 0 {
			w.announced = -1
		} else {
			w.announced = max(w.announced, inv.Version)
		}
	}
	c.mu.Unlock()
}

// Purge drops every cached record and every negative entry.
func (c *cache) Purge() {
	c.mu.Lock()
	c.epoch++
	c.items.Flush() // calls no OnEvicted
	c.bytes.Store(0)
	c.unknown.Flush()
	c.order = nil
	c.mu.Unlock()
}

// peek returns the cache's entry for record id when it is fresh and
// unexpired and the cache is in use, or nil: the hot path, with no
// context, timer or store call. The entry is shared and never modified
// but for its atomics; its values come decoded (nil when the data is
// corrupt).
func (c *cache) peek(id string, now time.Time) *entry {
	if c.bypassed() {
		return nil
	}
	v, ok := c.items.Get(id)
	if !ok {
		return nil
	}
	e := v.(*entry)
	if e.rec.Expired(now) {
		return nil
	}
	if !e.read.Load() {
		e.read.Store(true)
	}
	c.hits.Add(1)
	return e
}

// pendingWrite is what Update needs to know about the announcements made
// while its store call runs.
type pendingWrite struct {
	id        string
	n         int   // updates of the id in flight
	announced int64 // highest version announced meanwhile; -1: removed
}

// Find answers from the cache when it holds a fresh, unexpired copy, and
// otherwise from the store, remembering the answer. While the cache is
// bypassed, every Find asks the store.
func (c *cache) Find(ctx context.Context, id string, now time.Time) (storage.Record, bool, error) {
	if e := c.peek(id, now); e != nil {
		return e.rec, true, nil
	}
	return c.fetch(ctx, id, now)
}

// fetch is Find after peek missed: the record is not in memory, or
// expired here but possibly refreshed by another instance, or the cache
// is bypassed. It asks the store, unless the id is remembered as unknown.
func (c *cache) fetch(ctx context.Context, id string, now time.Time) (storage.Record, bool, error) {
	if c.bypassed() {
		c.misses.Add(1)
		rec, found, err := c.next.Find(ctx, id, now)
		if err != nil {
			c.errs.Add(1)
		}
		return rec, found, err
	}
	if _, ok := c.unknown.Get(id); ok {
		c.negativeHits.Add(1)
		return storage.Record{}, false, nil
	}
	c.misses.Add(1)
	if err := ctx.Err(); err != nil { // the shared load below ignores cancellation
		c.errs.Add(1)
		return storage.Record{}, false, fmt.Errorf("core: cache: %w: %w", ErrUnavailable, err)
	}
	type result struct {
		rec   storage.Record
		found bool
	}
	// The load is shared by every caller that misses the same id meanwhile:
	// it keeps the first caller's deadline but not its cancellation, so
	// that a client going away does not fail the others, and each caller
	// stops waiting when its own context ends.
	load := c.loads.DoChan(id, func() (any, error) {
		lctx, cancel := detach(ctx)
		defer cancel()
		c.mu.Lock()
		start := c.epoch
		c.mu.Unlock()
		rec, found, err := c.next.Find(lctx, id, now)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.epoch == start {
			if found {
				c.put(rec, now)
			} else {
				c.remember(id)
			}
		}
		c.mu.Unlock()
		return result{rec, found}, nil
	})
	select {
	case <-ctx.Done():
		c.errs.Add(1)
		return storage.Record{}, false, fmt.Errorf("core: cache: %w: %w", ErrUnavailable, ctx.Err())
	case r := <-load:
		if r.Err != nil {
			c.errs.Add(1)
			return storage.Record{}, false, r.Err
		}
		v := r.Val.(result)
		return v.rec, v.found, nil
	}
}

// detach returns a context with ctx's values and deadline but not its
// cancellation.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return d, func() {}
}

// Create inserts into the store, then caches the record.
func (c *cache) Create(ctx context.Context, rec storage.Record) error {
	if err := c.next.Create(ctx, rec); err != nil {
		c.errs.Add(1)
		return err
	}
	rec.Version = 1
	c.mu.Lock()
	c.epoch++
	c.unknown.Delete(rec.ID)
	c.put(rec, time.Now())
	c.mu.Unlock()
	return nil
}

// Update updates the store, then caches the new version: the cached copy
// of the version updated, with the fields an Update stores taken from rec
// (without that copy the fields Update keeps are unknown here, and the new
// version is left to the next read). A conflict drops the cached copy,
// which is then known to be stale.
func (c *cache) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	var base *storage.Record
	if v, ok := c.items.Get(rec.ID); ok && v.(*entry).rec.Version == rec.Version {
		base = &v.(*entry).rec
	}
	w := c.beginWrite(rec.ID)
	err := c.next.Update(ctx, rec, now)
	var written *storage.Record
	if base != nil {
		updated := storage.Updated(*base, rec)
		written = &updated
	}
	c.endWrite(w, written, now, err)
	return err
}

// UpdateLocked updates the store under its lock, then caches the new
// version.
func (c *cache) UpdateLocked(ctx context.Context, id string, now time.Time, change func(storage.Record) (storage.Record, error)) error {
	w := c.beginWrite(id)
	var written storage.Record
	err := c.next.UpdateLocked(ctx, id, now, func(cur storage.Record) (storage.Record, error) {
		rec, err := change(cur)
		written = storage.Updated(cur, rec)
		return rec, err
	})
	c.endWrite(w, &written, now, err)
	return err
}

// beginWrite registers an update of id about to reach the store.
func (c *cache) beginWrite(id string) *pendingWrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes[id]
	if w == nil {
		if c.writes == nil {
			c.writes = map[string]*pendingWrite{}
		}
		w = &pendingWrite{id: id}
		c.writes[id] = w
	}
	w.n++
	return w
}

// endWrite ends the update w with the store's answer err: on success it
// caches written, the record as now stored, unless it is not known (nil)
// or another process changed or removed the record meanwhile; on failure
// it drops the cached copy, which may be stale.
func (c *cache) endWrite(w *pendingWrite, written *storage.Record, now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Another process may have changed or removed the record between this
	// update and now, and its announcement found nothing to drop: caching
	// this version then would serve it until the TTL.
	superseded := written == nil || w.announced < 0 || w.announced > written.Version
	if w.n--; w.n == 0 {
		delete(c.writes, w.id)
	}
	c.epoch++
	if err != nil {
		if !errors.Is(err, storage.ErrConflict) {
			c.errs.Add(1)
		}
		c.items.Delete(w.id)
		if w.n > 0 {
			w.announced = -1 // the others in flight may be stale too
		}
		return
	}
	if superseded {
		c.items.Delete(w.id)
	} else {
		c.put(*written, now)
	}
}

// Touch updates the expiry and the last-seen time in the store, then in
// the cached copy.
func (c *cache) Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error {
	if err := c.next.Touch(ctx, id, expiresAt, lastSeenAt, now); err != nil {
		c.errs.Add(1)
		c.Invalidate(id)
		return err
	}
	c.mu.Lock()
	c.epoch++
	if v, ok := c.items.Get(id); ok {
		rec := v.(*entry).rec
		rec.ExpiresAt = expiresAt
		if lastSeenAt.After(rec.LastSeenAt) {
			rec.LastSeenAt = lastSeenAt
		}
		c.put(rec, now)
	}
	c.mu.Unlock()
	return nil
}

// Replace replaces in the store, then in the cache.
func (c *cache) Replace(ctx context.Context, oldID string, oldVersion int64, rec storage.Record, now time.Time) error {
	err := c.next.Replace(ctx, oldID, oldVersion, rec, now)
	c.mu.Lock()
	c.epoch++
	c.items.Delete(oldID)
	if err == nil {
		rec.Version = 1
		c.unknown.Delete(rec.ID)
		c.put(rec, now)
	}
	c.mu.Unlock()
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		c.errs.Add(1)
	}
	return err
}

// Delete removes the record from the cache and the store.
func (c *cache) Delete(ctx context.Context, id string) ([]storage.Record, error) {
	c.Invalidate(id)
	removed, err := c.next.Delete(ctx, id)
	c.Invalidate(id) // a load that raced the delete must not linger
	if err != nil {
		c.errs.Add(1)
	}
	return removed, err
}

// ListUser passes through to the store: a list is read where it is kept,
// so that it holds every instance's sessions.
func (c *cache) ListUser(ctx context.Context, userID string, now time.Time) ([]storage.Record, error) {
	return c.next.ListUser(ctx, userID, now)
}

// DeleteUser removes the user's records from the store and the cache.
func (c *cache) DeleteUser(ctx context.Context, userID, keepID string) ([]storage.Record, error) {
	return c.forget(c.next.DeleteUser(ctx, userID, keepID))
}

// DeleteExpired removes expired records from the store, and their copies
// from the cache, which never serves them anyway.
func (c *cache) DeleteExpired(ctx context.Context, now time.Time, limit int) ([]storage.Record, error) {
	return c.forget(c.next.DeleteExpired(ctx, now, limit))
}

// DeleteAll removes records from the store and the cache.
func (c *cache) DeleteAll(ctx context.Context, limit int) ([]storage.Record, error) {
	return c.forget(c.next.DeleteAll(ctx, limit))
}

// forget drops the cached copies of the records a store call removed.
func (c *cache) forget(removed []storage.Record, err error) ([]storage.Record, error) {
	if err != nil {
		c.errs.Add(1)
		return nil, err
	}
	c.mu.Lock()
	c.epoch++
	for _, rec := range removed {
		c.items.Delete(rec.ID)
	}
	c.mu.Unlock()
	return removed, nil
}

// Ping passes through to the store.
func (c *cache) Ping(ctx context.Context) error { return c.next.Ping(ctx) }

// put caches rec until the earlier of its expiry and the cache TTL, unless
// it is larger than MaxRecordBytes, then evicts what the bounds require.
// Its values are decoded here, once for all the requests that will read
// it. The caller holds c.mu.
func (c *cache) put(rec storage.Record, now time.Time) {
	ttl := min(rec.ExpiresAt.Sub(now), c.opts.TTL)
	values, _ := decodeStored(rec.Data) // corrupt: nil, and readers decode and log it
	size := entrySize(&rec, len(values))
	if ttl <= 0 || size > c.opts.MaxRecordBytes {
		c.items.Delete(rec.ID)
		return
	}
	// A fresh copy is overwritten in place, so that readers, which take no
	// lock, never find the id missing meanwhile; Set calls no OnEvicted, so
	// its bytes are given back here. An expired or absent one is deleted.
	if v, fresh := c.items.Get(rec.ID); fresh {
		c.bytes.Add(-v.(*entry).size)
	} else {
		c.items.Delete(rec.ID)
	}
	c.seq++
	c.items.Set(rec.ID, &entry{rec: rec, values: values, seq: c.seq, size: size}, ttl)
	c.bytes.Add(size)
	c.order = append(c.order, placed{rec.ID, c.seq})
	c.evict()
}

// evict walks the queue of puts from its oldest end, as far as the bounds
// require and past any expired entries: an entry read since it was stored
// or last spared is spared once and queued again at the back (a second
// chance, as in the CLOCK algorithm); the others are removed. Every cached
// id has exactly one queue element with its current seq; the others are
// stale and cost nothing to drop, and the queue is kept within twice
// MaxEntries. The caller holds c.mu.
func (c *cache) evict() {
	for len(c.order) > 0 {
		over := c.items.ItemCount() > c.opts.MaxEntries || c.bytes.Load() > c.opts.MaxBytes ||
			len(c.order) > 2*c.opts.MaxEntries
		oldest := c.order[0]
		v, fresh := c.items.Get(oldest.id)
		if fresh && !over {
			return
		}
		c.order[0] = placed{}
		c.order = c.order[1:]
		if !fresh {
			c.items.Delete(oldest.id) // expired: swept; or already gone
			continue
		}
		e := v.(*entry)
		if e.seq != oldest.seq {
			continue // stored again since; a later element stands for it
		}
		if e.read.Load() {
			e.read.Store(false)
			c.order = append(c.order, oldest)
			continue
		}
		c.items.Delete(oldest.id)
		c.evictions.Add(1)
	}
}

// sweep removes every expired entry, wherever it is in the queue.
func (c *cache) sweep() {
	c.mu.Lock()
	c.items.DeleteExpired()
	c.mu.Unlock()
}

// remember adds id to the negative cache. The caller holds c.mu.
func (c *cache) remember(id string) {
	if c.opts.NegativeTTL < 0 {
		return
	}
	if c.unknown.ItemCount() >= c.opts.MaxEntries {
		c.unknown.Flush() // only hints: dropping them all is safe and bounded
	}
	c.unknown.Set(id, struct{}{}, c.opts.NegativeTTL)
}
