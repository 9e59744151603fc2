package memstore_test

import (
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storage.Store { return memstore.New() })
}

func TestConformanceCached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		c, err := core.NewCache(memstore.New(), core.CacheOptions{})
		if err != nil {
			t.Fatalf("NewCache error = %v", err)
		}
		return c
	})
}
