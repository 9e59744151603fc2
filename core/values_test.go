package core

import (
	"bytes"
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
			got, err := DecodeValues(EncodeValues(tc.in))
			if err != nil || !maps.EqualFunc(got, tc.in, bytes.Equal) {
				t.Errorf("round trip = %q, %v; want %q", got, err, tc.in)
			}
		})
	}
	for _, bad := range []string{"\x02", "\x01", "\x01\x05", "\x01\x01\x05ab", "\x01\x01\x01a\x05x", "\x01\x00extra"} {
		if _, err := DecodeValues([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeValues(%q) error = %v, want ErrCorrupt", bad, err)
		}
	}
}

// FuzzDecodeValues feeds arbitrary stored data to the decoder: it must never
// panic, and what it accepts must encode back to the same values.
func FuzzDecodeValues(f *testing.F) {
	f.Add(EncodeValues(map[string][]byte{"a": []byte(`1`), "b": []byte(`"x"`)}))
	f.Add([]byte("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := DecodeValues(data)
		if err != nil {
			return
		}
		again, err := DecodeValues(EncodeValues(vals))
		if err != nil || !maps.EqualFunc(again, vals, bytes.Equal) {
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
