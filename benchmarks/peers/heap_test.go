package peers

import "testing"

// CacheHeap fills the cache to its bound and keeps to it when overfilled.
func TestCacheHeap(t *testing.T) {
	res, err := CacheHeap(2000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Held != 2000 || res.BytesPerSession <= 0 {
		t.Errorf("CacheHeap(2000) = %+v; want 2000 held, a positive size", res)
	}
	t.Logf("%.0f bytes per session", res.BytesPerSession)
}
