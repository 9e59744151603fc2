package core

import (
	"fmt"
	"slices"
)

// valueSet holds a session's values: the stored ones, decoded once and
// shared (with the cache and other requests) but never modified, under the
// reads and changes of this request. A cache hit thus costs no decoding of
// values the handler does not read.
type valueSet struct {
	base    storedValues        // as stored; shared, read-only
	local   map[string]*value   // decoded or changed in this request
	changes map[string]struct{} // keys set or deleted since the last save
	updates []update            // the Modify changes since the last save, in order
	cleared bool                // base no longer counts
}

// update is the change one Modify call made: the new value under key as a
// function of the old one. It is kept until the save, so that a save that
// meets a newer version of the session computes the value again on that
// version rather than overwrite what another request stored there.
type update struct {
	key string
	fn  func(old value, ok bool) any // no side effects; may run several times
}

// value is one session value of a request: its encoded form, its Go form,
// or both; or the mark of a deleted value.
type value struct {
	raw     []byte // nil until encoded
	live    any
	hasLive bool
	deleted bool
}

// lookup returns the value under key.
func (vs *valueSet) lookup(key string) (value, bool) {
	if v, ok := vs.local[key]; ok {
		return *v, !v.deleted
	}
	if vs.cleared {
		return value{}, false
	}
	raw, ok := vs.base.get(key)
	return value{raw: raw}, ok
}

// remember keeps the decoded form of an unchanged value for later reads.
func (vs *valueSet) remember(key string, v value) {
	if vs.local == nil {
		vs.local = map[string]*value{}
	}
	vs.local[key] = &v
}

// set records a change of key to v.
func (vs *valueSet) set(key string, v any) {
	vs.change(key, &value{live: v, hasLive: true})
}

// del records the deletion of key and reports whether it had a value.
func (vs *valueSet) del(key string) bool {
	if _, ok := vs.lookup(key); !ok {
		return false
	}
	vs.change(key, &value{deleted: true})
	return true
}

func (vs *valueSet) change(key string, v *value) {
	if vs.local == nil {
		vs.local = map[string]*value{}
	}
	if vs.changes == nil {
		vs.changes = map[string]struct{}{}
	}
	vs.local[key] = v
	vs.changes[key] = struct{}{}
}

// prior is what a key held before a Modify, for taking the Modify back.
type prior struct {
	key     string
	changed *value // the request's change of it; nil if none
}

// before returns what this request changed key to, if it did.
func (vs *valueSet) before(key string) prior {
	if _, ok := vs.changes[key]; ok {
		return prior{key: key, changed: vs.local[key]}
	}
	return prior{key: key}
}

// takeBack undoes the last update, of a Modify whose save failed: its key
// gets back what it held before (p), the request's own change or else the
// stored value, so that a retry of the Modify counts once.
func (vs *valueSet) takeBack(p prior) {
	if n := len(vs.updates); n > 0 && vs.updates[n-1].key == p.key {
		vs.updates = vs.updates[:n-1]
	}
	if p.changed != nil {
		vs.change(p.key, p.changed)
		return
	}
	delete(vs.local, p.key)
	delete(vs.changes, p.key)
}

// clear deletes every value.
func (vs *valueSet) clear() {
	vs.cleared = true
	vs.local = nil
	clear(vs.changes)
	vs.updates = nil
}

// keys returns the keys that have values, sorted.
func (vs *valueSet) keys() []string {
	keys := make([]string, 0, len(vs.base)+len(vs.local))
	if !vs.cleared {
		for _, f := range vs.base {
			if v, ok := vs.local[f.key]; !ok || !v.deleted {
				keys = append(keys, f.key)
			}
		}
	}
	for k, v := range vs.local {
		if _, inBase := vs.base.get(k); !v.deleted && (vs.cleared || !inBase) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// empty reports whether there are no values.
func (vs *valueSet) empty() bool {
	if !vs.cleared {
		for _, f := range vs.base {
			if v, ok := vs.local[f.key]; !ok || !v.deleted {
				return false
			}
		}
	}
	for _, v := range vs.local {
		if !v.deleted {
			return false
		}
	}
	return true
}

// encode returns every value in encoded form, encoding the changed ones.
func (vs *valueSet) encode(codec Codec) (storedValues, error) {
	out := make(map[string][]byte, len(vs.base)+len(vs.local))
	if !vs.cleared {
		for _, f := range vs.base {
			out[f.key] = f.raw
		}
	}
	for k, v := range vs.local {
		if v.deleted {
			delete(out, k)
			continue
		}
		if v.raw == nil {
			raw, err := codec.Marshal(v.live)
			if err != nil {
				return nil, fmt.Errorf("session value %q: %w: %w", k, ErrEncode, err)
			}
			v.raw = raw
		}
		out[k] = v.raw
	}
	return storedFrom(out), nil
}

// rebase puts this request's changes on top of a newer base: plain
// changes are kept as they are; the values of updates are dropped, for the
// caller to compute again on the new base (Session.rebase).
func (vs *valueSet) rebase(base storedValues) {
	vs.base = base
	for k := range vs.local {
		if _, changed := vs.changes[k]; !changed {
			delete(vs.local, k) // decoded from the old base
		}
	}
	for _, u := range vs.updates {
		delete(vs.local, u.key)
	}
}

// saved makes the values just written the new base.
func (vs *valueSet) saved(written storedValues) {
	*vs = valueSet{base: written}
}
