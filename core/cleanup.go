package core

import (
	"context"
	"fmt"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

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
		n, err := storage.DeleteBatches(ctx, func(ctx context.Context, limit int) ([]storage.Record, error) {
			return m.store.DeleteExpired(ctx, at, limit)
		}, storage.DefaultCleanupBatch, func(removed []storage.Record) { fire(m.cfg.Hooks.Expired, "", removed...) })
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
