package core

import (
	"context"
	"errors"
	"sync"
	"time"
)

// background is the manager's own background work, started by Start.
type background struct {
	mu     sync.Mutex
	cancel context.CancelFunc // nil until Start
	wg     sync.WaitGroup
}

// Start runs the manager's background work until Close: RunInvalidations
// when the store is shared by several processes, and RunCleanup every
// cleanupEvery unless that is zero. It is what an app would otherwise
// start in goroutines of its own; calling it twice is an error.
func (m *Manager) Start(cleanupEvery time.Duration) error {
	if cleanupEvery < 0 {
		return errors.New("core: Start with a negative cleanup interval")
	}
	m.bg.mu.Lock()
	defer m.bg.mu.Unlock()
	if m.bg.cancel != nil {
		return errors.New("core: Manager.Start called twice")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.bg.cancel = cancel
	if m.source != nil {
		m.bg.wg.Go(func() { m.RunInvalidations(ctx) })
	}
	if cleanupEvery > 0 {
		m.bg.wg.Go(func() { m.RunCleanup(ctx, cleanupEvery) })
	}
	return nil
}

// Close stops the background work Start started and waits for it to end.
// The manager still serves requests afterwards, with its cache bypassed
// on a shared store. Close without Start does nothing.
func (m *Manager) Close() error {
	m.bg.mu.Lock()
	cancel := m.bg.cancel
	m.bg.mu.Unlock()
	if cancel != nil {
		cancel()
		m.bg.wg.Wait()
	}
	return nil
}
