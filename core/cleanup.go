package core

import (
	"context"
	"fmt"
	"time"
)

// DefaultCleanupBatch is how many expired records one DELETE removes.
const DefaultCleanupBatch = 1000

// DeleteExpired removes every record of store that expired before now, in
// batches of batch records (DefaultCleanupBatch when batch <= 0), so that
// no statement holds locks for long. After each batch it calls progress, if
// not nil, with the running total. It stops early when ctx is done.
func DeleteExpired(ctx context.Context, store Store, now time.Time, batch int, progress func(total int)) (int, error) {
	total := 0
	n, err := deleteBatches(ctx, func(ctx context.Context, limit int) ([]Record, error) {
		return store.DeleteExpired(ctx, now, limit)
	}, batch, func(removed []Record) {
		if total += len(removed); progress != nil {
			progress(total)
		}
	})
	if err != nil {
		return n, fmt.Errorf("core: delete expired sessions: %w", err)
	}
	return n, nil
}

// deleteBatches calls del with batch (DefaultCleanupBatch when batch <= 0)
// until it removes fewer, calling removed after each batch that removed
// any, and returns how many it removed. It stops early when ctx is done.
func deleteBatches(ctx context.Context, del func(ctx context.Context, limit int) ([]Record, error), batch int, removed func([]Record)) (int, error) {
	if batch <= 0 {
		batch = DefaultCleanupBatch
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		recs, err := del(ctx, batch)
		total += len(recs)
		if err != nil {
			return total, err
		}
		if len(recs) > 0 {
			removed(recs)
		}
		if len(recs) < batch {
			return total, nil
		}
	}
}

// RunCleanup deletes expired sessions (and the cache's expired copies) now
// and then every interval, until
// ctx is done; then it returns nil. Failures are logged and retried at the
// next tick. Run it in its own goroutine on one or more instances:
//
//	go m.RunCleanup(ctx, 5*time.Minute)
func (m *Manager) RunCleanup(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("core: RunCleanup with interval %v; it must be positive", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		start := time.Now()
		at := now()
		n, err := deleteBatches(ctx, func(ctx context.Context, limit int) ([]Record, error) {
			return m.store.DeleteExpired(ctx, at, limit)
		}, DefaultCleanupBatch, func(removed []Record) { fire(m.cfg.Hooks.Expired, "", removed...) })
		if m.cache != nil {
			m.cache.sweep() // expired copies, wherever they are in the queue
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			m.cfg.Logger.Error("session cleanup failed", "deleted", n, "error", err)
		case n > 0:
			m.cfg.Logger.Info("session cleanup", "deleted", n, "took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
