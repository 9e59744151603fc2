package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

// While up, Faulty is the store it wraps.
func TestFaultyConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storage.Store { return storetest.NewFaulty(memstore.New()) })
}

func TestFaultyCountsAndFails(t *testing.T) {
	ctx := context.Background()
	f := storetest.NewFaulty(memstore.New())
	now := time.Now()
	rec := storage.Record{ID: "a", CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := f.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	f.Find(ctx, "a", now)
	f.Find(ctx, "b", now)
	f.SetDown(true)
	if _, _, err := f.Find(ctx, "a", now); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Find while down = %v, want ErrUnavailable", err)
	}
	if err := f.Update(ctx, rec, now); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Update while down = %v, want ErrUnavailable", err)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"Calls(Find)", f.Calls(storetest.Find), 3},
		{"Succeeded(Find)", f.Succeeded(storetest.Find), 2},
		{"Calls()", f.Calls(), 5},
		{"Succeeded(Create, Update)", f.Succeeded(storetest.Create, storetest.Update), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	f.Reset()
	f.SetDown(false)
	if _, found, err := f.Find(ctx, "a", now); !found || err != nil || f.Calls() != 1 {
		t.Errorf("after Reset and up: Find = %v, %v, calls %d; want found, nil, 1", found, err, f.Calls())
	}
}
