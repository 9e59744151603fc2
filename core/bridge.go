package core

import (
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/internal/corebridge"
)

// The hooks of this module's tests into what core does not export.
func init() {
	corebridge.Wrap = func(store storage.Store) (storage.Store, error) { return newCache(store, CacheOptions{}) }
	corebridge.EncodeValues = func(values map[string][]byte) []byte { return storedFrom(values).encode() }
}
