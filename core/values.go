package core

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
)

// valuesFormat is the first byte of encoded session data; a later format
// can be told apart from this one.
const valuesFormat = 1

// EncodeValues packs encoded session values into a record's Data. The
// format is a version byte, then for each key in sorted order its length,
// the key, the value's length and the value, lengths as uvarints. Empty
// values encode as nil.
func EncodeValues(values map[string][]byte) []byte {
	if len(values) == 0 {
		return nil
	}
	keys := make([]string, 0, len(values))
	size := 1 + binary.MaxVarintLen64
	for k, v := range values {
		keys = append(keys, k)
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		v := values[k]
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// DecodeValues unpacks a record's Data. The returned slices point into data,
// which must not be modified afterwards. Malformed data gives an error
// wrapping ErrCorrupt.
func DecodeValues(data []byte) (map[string][]byte, error) {
	if len(data) == 0 {
		return map[string][]byte{}, nil
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
	values := make(map[string][]byte, count)
	for range count {
		k, ok := next()
		if !ok {
			return nil, fmt.Errorf("%w: truncated key", ErrCorrupt)
		}
		v, ok := next()
		if !ok {
			return nil, fmt.Errorf("%w: truncated value", ErrCorrupt)
		}
		values[string(k)] = v
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(rest))
	}
	return values, nil
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
