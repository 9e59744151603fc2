package memstore_test

import (
	"testing"

	_ "github.com/hybridsession/hybridsession/core" // sets corebridge.Wrap
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/internal/corebridge"
	"github.com/hybridsession/hybridsession/memstore"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storage.Store { return memstore.New() })
}

func TestConformanceCached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		c, err := corebridge.Wrap(memstore.New())
		if err != nil {
			t.Fatalf("cache: %v", err)
		}
		return c
	})
}
