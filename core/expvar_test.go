package core_test

import (
	"encoding/json"
	"testing"

	"github.com/hybridsession/hybridsession/core"
)

// Expvar's value is Stats as JSON, current at each read.
func TestExpvar(t *testing.T) {
	h := newHarness(t, core.Config{})
	v := h.m.Expvar()
	token := h.newSession("k", 1)
	h.do(token, 200, func(s *core.Session) { s.Has("k") })
	h.do("forged-and-short", 200, func(s *core.Session) { s.Has("k") })
	var got core.Stats
	if err := json.Unmarshal([]byte(v.String()), &got); err != nil {
		t.Fatalf("Expvar value %q: %v", v.String(), err)
	}
	if got.Hits != 1 || got.Entries != 1 || got.Bytes <= 0 || got.RejectedCookies != 1 {
		t.Errorf("Expvar = %+v, want 1 hit, 1 entry, some bytes, 1 rejected cookie", got)
	}
	off, err := core.NewManager(h.store, core.Config{Cache: core.CacheOptions{TTL: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(off.Expvar().String()), &got); err != nil || got != (core.Stats{}) {
		t.Errorf("Expvar without a cache = %s (%v), want zero counters", off.Expvar().String(), err)
	}
}
