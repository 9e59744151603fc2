package core

import (
	"context"
	"time"
)

// Backoff bounds of RunInvalidations' reconnection attempts.
const (
	minReconnectDelay = 50 * time.Millisecond
	maxReconnectDelay = 5 * time.Second
)

// RunInvalidations keeps the cache coherent with the other processes of a
// shared store: it listens to the store's InvalidationSource and drops each
// record another process changed. While it is not listening — before it
// first connects, and whenever the connection is lost — the cache is
// bypassed, so that nothing possibly stale is served; once listening again
// the cache is emptied and used again. It reconnects by itself and returns
// nil when ctx is done. When the manager has no cache or the store is not
// shared, there is nothing to do and it returns nil at once.
//
//	go m.RunInvalidations(ctx)
func (m *Manager) RunInvalidations(ctx context.Context) error {
	if m.source == nil {
		return nil
	}
	delay := minReconnectDelay
	for {
		connected := false
		err := m.source.Listen(ctx,
			func() {
				m.cache.Purge()
				m.setCoherence(listening)
				connected = true
			},
			m.cache.apply)
		if ctx.Err() != nil {
			m.setCoherence(stopped)
			return nil
		}
		if connected {
			delay = minReconnectDelay
		}
		if !m.setCoherence(lost, "error", err, "retry_in", delay) {
			m.cfg.Logger.Warn("session invalidations: reconnecting failed", "error", err, "retry_in", delay)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}
