package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"testing"
)

func TestValuesEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string][]byte
	}{
		{"empty", map[string][]byte{}},
		{"one", map[string][]byte{"a": []byte("1")}},
		{"binary and empty", map[string][]byte{"": {}, "k\x00": {0, 0xff}, "é": []byte("ü")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeStored(EncodeValues(tc.in))
			if err != nil || !maps.EqualFunc(asMap(got), tc.in, bytes.Equal) {
				t.Errorf("round trip = %q, %v; want %q", got, err, tc.in)
			}
		})
	}
	for _, bad := range []string{"\x02", "\x01", "\x01\x05", "\x01\x01\x05ab", "\x01\x01\x01a\x05x", "\x01\x00extra"} {
		if _, err := decodeStored([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeStored(%q) error = %v, want ErrCorrupt", bad, err)
		}
	}
}

func asMap(sv storedValues) map[string][]byte {
	m := make(map[string][]byte, len(sv))
	for _, f := range sv {
		m[f.key] = f.raw
	}
	return m
}

// FuzzDecodeValues feeds arbitrary stored data to the decoder: it must never
// panic, and what it accepts must encode back to the same values.
func FuzzDecodeValues(f *testing.F) {
	f.Add(EncodeValues(map[string][]byte{"a": []byte(`1`), "b": []byte(`"x"`)}))
	f.Add([]byte("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := decodeStored(data)
		if err != nil {
			return
		}
		vals := asMap(sv)
		again, err := decodeStored(EncodeValues(vals))
		if err != nil || !maps.EqualFunc(asMap(again), vals, bytes.Equal) {
			t.Errorf("re-encoding %q changed it: %q, %v", vals, again, err)
		}
	})
}

// FuzzJSONCodec decodes arbitrary stored bytes as a session value: an error
// is fine, a panic is not.
func FuzzJSONCodec(f *testing.F) {
	f.Add([]byte(`{"a":[1,2.5,"x",null,true,18446744073709551615]}`))
	f.Add([]byte(`9007199254740993`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		_ = JSONCodec{}.Unmarshal(data, &v)
		var n int
		_ = JSONCodec{}.Unmarshal(data, &n)
	})
}

// FuzzJSONFastPaths checks that the reflection-free reads of strings,
// integers and booleans agree with encoding/json on any input.
func FuzzJSONFastPaths(f *testing.F) {
	for _, seed := range []string{`"plain"`, `"esc\"aped"`, `"\u00e9"`, `-9223372036854775808`, `9223372036854775808`, `007`, `-0`, `true`, `"\xff"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast[string](t, data)
		checkFast[int](t, data)
		checkFast[int64](t, data)
		checkFast[bool](t, data)
	})
}

func checkFast[T comparable](t *testing.T, data []byte) {
	var got, want T
	gotErr := JSONCodec{}.Unmarshal(data, &got)
	wantErr := json.Unmarshal(data, &want)
	if (gotErr == nil) != (wantErr == nil) || got != want {
		t.Errorf("Unmarshal(%q) into %T = %v, %v; encoding/json gives %v, %v", data, got, got, gotErr, want, wantErr)
	}
}
