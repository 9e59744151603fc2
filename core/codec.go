package core

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Codec encodes one session value at a time. Each value is stored as its own
// encoded bytes, so reading one value never decodes the others, and two
// requests that change different values can be merged.
type Codec interface {
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value pointed to by ptr. When ptr is
	// an *any, the codec picks the Go type.
	Unmarshal(data []byte, ptr any) error
}

// JSONCodec is the default codec. Values are stored as JSON, and typed reads
// (Get[T]) decode straight into T, so an int comes back an int, an int64
// beyond 2^53 stays exact, and a []byte is byte-exact. An untyped read
// (Session.Get) yields JSON's natural Go types, except that whole numbers
// come back as int (or uint64, when too large for int) instead of float64.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into ptr; see JSONCodec for the *any case.
// Strings without escapes, integers and booleans, the common session
// values, are read without reflection.
func (JSONCodec) Unmarshal(data []byte, ptr any) error {
	switch p := ptr.(type) {
	case *string:
		if s, ok := plainJSONString(data); ok {
			*p = s
			return nil
		}
	case *int:
		if n, ok := plainJSONInt(data); ok && n >= math.MinInt && n <= math.MaxInt {
			*p = int(n)
			return nil
		}
	case *int64:
		if n, ok := plainJSONInt(data); ok {
			*p = n
			return nil
		}
	case *bool:
		switch string(data) {
		case "true", "false":
			*p = data[0] == 't'
			return nil
		}
	}
	p, ok := ptr.(*any)
	if !ok {
		return json.Unmarshal(data, ptr)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("json: trailing data after value")
	}
	*p = normalizeNumbers(v)
	return nil
}

// normalizeNumbers turns json.Number into int, uint64 or float64.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// GobCodec stores values with encoding/gob, which keeps Go types exactly,
// also for untyped reads. Types other than the basic ones must be registered
// with gob.Register, as with gorilla/sessions.
type GobCodec struct{}

// Marshal encodes v with gob.
func (GobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Unmarshal decodes gob data into ptr. A pointer to a type other than the
// stored one is an error.
func (GobCodec) Unmarshal(data []byte, ptr any) error {
	var v any
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&v); err != nil {
		return err
	}
	if p, ok := ptr.(*any); ok {
		*p = v
		return nil
	}
	return assign(ptr, v)
}

// plainJSONString decodes a JSON string that needs no unescaping: quoted,
// valid UTF-8, without backslashes or control characters. Anything else is
// left to encoding/json.
func plainJSONString(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", false
	}
	body := data[1 : len(data)-1]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// plainJSONInt decodes a JSON integer that fits an int64: an optional
// minus and digits without leading zeros. Anything else is left to
// encoding/json.
func plainJSONInt(data []byte) (int64, bool) {
	neg := len(data) > 0 && data[0] == '-'
	digits := data
	if neg {
		digits = data[1:]
	}
	if len(digits) == 0 || len(digits) > 19 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= 1<<63:
		return -int64(n), true
	}
	return 0, false
}
