package core

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
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
func (JSONCodec) Unmarshal(data []byte, ptr any) error {
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
