// Package cachebridge lets this module's tests put core's in-process
// cache, which core does not export, in front of a store, so that the
// store conformance suite runs on every store both bare and cached.
package cachebridge

import "github.com/hybridsession/hybridsession/core/storage"

// Wrap returns store behind a cache with the default options. Package core
// sets it when it is linked in.
var Wrap func(store storage.Store) (storage.Store, error)
