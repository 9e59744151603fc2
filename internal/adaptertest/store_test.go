package adaptertest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/memstore"
)

// countingStore is a memstore that counts its calls and that can be made to
// fail every call, as a database that went down would.
type countingStore struct {
	next core.Store
	down atomic.Bool

	finds atomic.Int64 // Find calls
	saves atomic.Int64 // Create, Update and Replace calls that succeeded
	other atomic.Int64 // every other call
}

var _ core.Store = (*countingStore)(nil)

func newCountingStore() *countingStore { return &countingStore{next: memstore.New()} }

// reset zeroes the counters.
func (s *countingStore) reset() {
	s.finds.Store(0)
	s.saves.Store(0)
	s.other.Store(0)
}

// calls is the number of calls since the last reset, whatever their outcome.
func (s *countingStore) calls() int64 { return s.finds.Load() + s.saves.Load() + s.other.Load() }

// fail returns the error of a store that is down, or nil.
func (s *countingStore) fail(op string) error {
	if s.down.Load() {
		return fmt.Errorf("countingstore: %s: %w", op, core.ErrUnavailable)
	}
	return nil
}

// saved counts a write that took effect.
func (s *countingStore) saved(err error) error {
	if err == nil {
		s.saves.Add(1)
	} else {
		s.other.Add(1)
	}
	return err
}

func (s *countingStore) Find(ctx context.Context, id string, now time.Time) (core.Record, bool, error) {
	s.finds.Add(1)
	if err := s.fail("find"); err != nil {
		return core.Record{}, false, err
	}
	return s.next.Find(ctx, id, now)
}

func (s *countingStore) Create(ctx context.Context, rec core.Record) error {
	if err := s.fail("create"); err != nil {
		return s.saved(err)
	}
	return s.saved(s.next.Create(ctx, rec))
}

func (s *countingStore) Update(ctx context.Context, rec core.Record, now time.Time) error {
	if err := s.fail("update"); err != nil {
		return s.saved(err)
	}
	return s.saved(s.next.Update(ctx, rec, now))
}

func (s *countingStore) Replace(ctx context.Context, oldID string, rec core.Record, now time.Time) error {
	if err := s.fail("replace"); err != nil {
		return s.saved(err)
	}
	return s.saved(s.next.Replace(ctx, oldID, rec, now))
}

func (s *countingStore) Touch(ctx context.Context, id string, expiresAt, now time.Time) error {
	s.other.Add(1)
	if err := s.fail("touch"); err != nil {
		return err
	}
	return s.next.Touch(ctx, id, expiresAt, now)
}

func (s *countingStore) Delete(ctx context.Context, id string) error {
	s.other.Add(1)
	if err := s.fail("delete"); err != nil {
		return err
	}
	return s.next.Delete(ctx, id)
}

func (s *countingStore) DeleteUser(ctx context.Context, userID string) ([]string, error) {
	s.other.Add(1)
	if err := s.fail("delete user"); err != nil {
		return nil, err
	}
	return s.next.DeleteUser(ctx, userID)
}

func (s *countingStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	s.other.Add(1)
	if err := s.fail("delete expired"); err != nil {
		return 0, err
	}
	return s.next.DeleteExpired(ctx, now, limit)
}

func (s *countingStore) Ping(ctx context.Context) error {
	s.other.Add(1)
	if err := s.fail("ping"); err != nil {
		return err
	}
	return s.next.Ping(ctx)
}
