package core

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// valuesFormat is the first byte of encoded session data; a later format
// can be told apart from this one.
const valuesFormat = 1

// encode packs sorted values into a record's Data. The format is a
// version byte, then for each key in sorted order its length, the key, the
// value's length and the value, lengths as uvarints. Empty values encode
// as nil.
func (sv storedValues) encode() []byte {
	if len(sv) == 0 {
		return nil
	}
	size := 1 + binary.MaxVarintLen64
	for _, f := range sv {
		size += 2*binary.MaxVarintLen64 + len(f.key) + len(f.raw)
	}
	b := make([]byte, 0, size)
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, uint64(len(sv)))
	for _, f := range sv {
		b = binary.AppendUvarint(b, uint64(len(f.key)))
		b = append(b, f.key...)
		b = binary.AppendUvarint(b, uint64(len(f.raw)))
		b = append(b, f.raw...)
	}
	return b
}

// storedValues are a record's values as stored, sorted by key, their raw
// bytes pointing into the record's Data: the compact, read-only form that
// the cache keeps and requests share.
type storedValues []storedValue

type storedValue struct {
	key string
	raw []byte
}

// get returns the raw value under key.
func (sv storedValues) get(key string) ([]byte, bool) {
	i, ok := slices.BinarySearchFunc(sv, key, func(f storedValue, k string) int { return strings.Compare(f.key, k) })
	if !ok {
		return nil, false
	}
	return sv[i].raw, true
}

// storedFrom sorts values into their stored form.
func storedFrom(values map[string][]byte) storedValues {
	sv := make(storedValues, 0, len(values))
	for k, v := range values {
		sv = append(sv, storedValue{k, v})
	}
	slices.SortFunc(sv, func(a, b storedValue) int { return strings.Compare(a.key, b.key) })
	return sv
}

// decodeStored unpacks a record's Data, as storedValues.encode packs it. The raw
// values point into data, which must not be modified afterwards. No data
// is no values (an empty, non-nil result); malformed data (keys out of
// order included) gives an error wrapping ErrCorrupt.
func decodeStored(data []byte) (storedValues, error) {
	if len(data) == 0 {
		return storedValues{}, nil
	}
	if data[0] != valuesFormat {
		return nil, fmt.Errorf("%w: unknown format %d", ErrCorrupt, data[0])
	}
	rest := data[1:]
	next := func() ([]byte, bool) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return nil, false
		}
		field := rest[w : w+int(n) : w+int(n)]
		rest = rest[w+int(n):]
		return field, true
	}
	count, w := binary.Uvarint(rest)
	if w <= 0 || count > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: bad value count", ErrCorrupt)
	}
	rest = rest[w:]
	sv := make(storedValues, 0, count)
	for range count {
		k, ok := next()
		if !ok {
			return nil, fmt.Errorf("%w: truncated key", ErrCorrupt)
		}
		v, ok := next()
		if !ok {
			return nil, fmt.Errorf("%w: truncated value", ErrCorrupt)
		}
		key := string(k)
		if n := len(sv); n > 0 && sv[n-1].key >= key {
			return nil, fmt.Errorf("%w: keys out of order", ErrCorrupt)
		}
		sv = append(sv, storedValue{key, v})
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(rest))
	}
	return sv, nil
}

// assign stores v in *ptr when v's type is assignable to it.
func assign(ptr any, v any) error {
	pv := reflect.ValueOf(ptr)
	if pv.Kind() != reflect.Pointer || pv.IsNil() {
		return fmt.Errorf("decode target must be a non-nil pointer, not %T", ptr)
	}
	dst := pv.Elem()
	if v == nil {
		dst.SetZero()
		return nil
	}
	src := reflect.ValueOf(v)
	if !src.Type().AssignableTo(dst.Type()) {
		return fmt.Errorf("stored %T cannot be read as %s", v, dst.Type())
	}
	dst.Set(src)
	return nil
}
