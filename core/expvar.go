package core

import "expvar"

// Expvar returns the manager's statistics as an expvar.Var, to publish
// with the standard library's expvar (served on /debug/vars):
//
//	expvar.Publish("sessions", m.Expvar())
//
// Its value is the cache's counters (CacheStats) as JSON, read afresh at
// every request; an empty object when the manager has no cache.
func (m *Manager) Expvar() expvar.Var {
	return expvar.Func(func() any {
		if m.cache == nil {
			return struct{}{}
		}
		return m.cache.Stats()
	})
}
