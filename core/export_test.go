package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"

	"github.com/hybridsession/hybridsession/core/storage"
)

// The cache, for the tests of package core_test, which check it directly.
type Cache = cache

// NewCache is newCache.
func NewCache(store storage.Store, opts CacheOptions) (*Cache, error) { return newCache(store, opts) }

// EntryOverhead is entryOverhead.
const EntryOverhead = entryOverhead

// Cache returns the manager's cache, or nil.
func (m *Manager) Cache() *Cache { return m.cache }

// DefaultLifetime is defaultLifetime.
const DefaultLifetime = defaultLifetime

// EncodeValues packs encoded session values into a record's Data.
func EncodeValues(values map[string][]byte) []byte { return storedFrom(values).encode() }

// SpoilTags makes the keys of the manager's current ring compute wrong
// tags, as a changed secret would: a token checked from now on fails.
func (m *Manager) SpoilTags() {
	for _, k := range m.keys.cur.Load().keys {
		k.taggers = sync.Pool{New: func() any { return &tagger{mac: hmac.New(sha256.New, []byte("spoilt"))} }}
	}
}
