package core_test

import (
	"encoding/json"
	"testing"

	"github.com/hybridsession/hybridsession/core"
)

// Expvar's value is the cache's counters as JSON, current at each read.
func TestExpvar(t *testing.T) {
	h := newHarness(t, core.Config{})
	v := h.m.Expvar()
	token := h.newSession("k", 1)
	h.do(token, 200, func(s *core.Session) { s.Has("k") })
	var got core.CacheStats
	if err := json.Unmarshal([]byte(v.String()), &got); err != nil {
		t.Fatalf("Expvar value %q: %v", v.String(), err)
	}
	if got.Hits != 1 || got.Entries != 1 || got.Bytes <= 0 {
		t.Errorf("Expvar = %+v, want 1 hit, 1 entry, some bytes", got)
	}
	off, err := core.NewManager(h.store, core.Config{Cache: core.CacheOptions{TTL: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if s := off.Expvar().String(); s != "{}" {
		t.Errorf("Expvar without a cache = %s, want {}", s)
	}
}
