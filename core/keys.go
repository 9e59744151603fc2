package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// keyRetry is how long a ring whose reload failed is used before the next
// try, so that an outage costs one failed read per interval, not one per
// request.
const keyRetry = 5 * time.Second // or TokenKeyRefresh, if shorter

// keySource gives the manager its key ring: Config.TokenKeys, or the keys
// a KeyStore keeps, read on first use and again every
// Config.TokenKeyRefresh, so that a rotation reaches every instance.
type keySource struct {
	static   []storage.TokenKey // from Config.TokenKeys; nil when the store's are used
	store    storage.KeyStore   // nil when the store keeps no keys
	lifetime time.Duration
	refresh  time.Duration
	timeout  func(context.Context) (context.Context, context.CancelFunc)
	log      *slog.Logger

	cur atomic.Pointer[keyring]
	mu  sync.Mutex // held by the one request that reads the keys
}

// newKeySource checks where the keys come from. Config keys alone need no
// store: their ring is ready at once.
func newKeySource(store storage.Store, cfg Config, timeout func(context.Context) (context.Context, context.CancelFunc)) (*keySource, error) {
	k := &keySource{lifetime: cfg.Lifetime, refresh: cfg.TokenKeyRefresh, timeout: timeout, log: cfg.Logger}
	for _, secret := range cfg.TokenKeys {
		k.static = append(k.static, storage.ConfigKey(secret))
	}
	k.store, _ = store.(storage.KeyStore)
	if k.static == nil {
		if k.store == nil {
			return nil, fmt.Errorf("core: the store %T keeps no token keys: set Config.TokenKeys, or implement storage.KeyStore", store)
		}
		return k, nil // read at first use
	}
	// Config keys are ready at once. With a KeyStore, its ring is read
	// at first use all the same, for UntaggedSince.
	r, err := newKeyring(k.static, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	k.cur.Store(r)
	return k, nil
}

// ring returns the key ring at now. When it is due to be read again, one
// request reads it while the others go on with the ring they have; only
// the very first read makes requests wait, and only its failure is theirs.
func (k *keySource) ring(ctx context.Context, now time.Time) (*keyring, error) {
	r := k.cur.Load()
	if r != nil && (k.store == nil || now.Before(r.stale)) {
		return r, nil
	}
	if r == nil {
		k.mu.Lock()
	} else if !k.mu.TryLock() {
		return r, nil
	}
	defer k.mu.Unlock()
	if cur := k.cur.Load(); cur != r {
		return cur, nil // read by another request meanwhile
	}
	next, err := k.load(ctx, now)
	if err != nil {
		if r == nil {
			return nil, err
		}
		k.log.Warn("could not read the token keys again; using the ones read before", "error", err)
		retry := *r
		retry.stale = now.Add(min(keyRetry, k.refresh))
		k.cur.Store(&retry)
		return r, nil
	}
	k.cur.Store(next)
	return next, nil
}

// load reads the store's keys and builds the ring they make.
func (k *keySource) load(ctx context.Context, now time.Time) (*keyring, error) {
	ctx, cancel := k.timeout(ctx)
	defer cancel()
	tk, err := k.store.TokenKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("core: read token keys: %w", err)
	}
	keys := tk.Keys
	if k.static != nil {
		keys = k.static
	}
	var until time.Time
	if !tk.UntaggedSince.IsZero() {
		until = tk.UntaggedSince.Add(k.lifetime)
	}
	r, err := newKeyring(keys, until, now.Add(k.refresh))
	if err != nil {
		return nil, fmt.Errorf("core: token keys of the store: %w", err)
	}
	return r, nil
}
