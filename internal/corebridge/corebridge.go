// Package corebridge lets this module's tests reach two things package core
// does not export: its in-process cache, so that the store conformance
// suite runs on every store both bare and cached, and the format of a
// record's Data, so that a store's tests can write a session's values
// directly. Package core sets both when it is linked in.
package corebridge

import "github.com/hybridsession/hybridsession/core/storage"

// Wrap returns store behind a cache with the default options.
var Wrap func(store storage.Store) (storage.Store, error)

// EncodeValues packs encoded session values into a record's Data.
var EncodeValues func(values map[string][]byte) []byte
