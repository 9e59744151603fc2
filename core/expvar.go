package core

import "expvar"

// Stats are a manager's counters.
type Stats struct {
	// CacheStats are the cache's counters; zero when there is no cache.
	CacheStats
	// RejectedCookies counts the session cookies turned away unread:
	// malformed, forged, or tagged by a retired key.
	RejectedCookies uint64
}

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	st := Stats{RejectedCookies: m.reject.total.Load()}
	if m.cache != nil {
		st.CacheStats = m.cache.Stats()
	}
	return st
}

// Expvar returns the manager's statistics as an expvar.Var, to publish
// with the standard library's expvar (served on /debug/vars):
//
//	expvar.Publish("sessions", m.Expvar())
//
// Its value is Stats as JSON, one flat object read afresh at every
// request.
func (m *Manager) Expvar() expvar.Var {
	return expvar.Func(func() any { return m.Stats() })
}
