// Package core is the session logic of hybridsession: server-side HTTP
// sessions kept durably in a store and read through an in-process cache,
// committed automatically before the response headers are written. It
// imports neither Gin, Echo nor GORM; ginsession and echosession adapt it to
// those frameworks, gormstore keeps sessions in PostgreSQL or SQLite.
//
//	m, err := core.NewManager(store, core.Config{}) // the zero Config is the defaults
//	http.ListenAndServe(addr, m.Middleware(mux))     // then core.FromContext(r.Context())
//
// The pieces:
//
//   - Manager: configuration (Config), the middleware, log out everywhere
//     (LogoutEverywhere), background cleanup (RunCleanup) and cache coherence
//     across processes (RunInvalidations).
//   - Session: one request's session, loaded on first use. Values are set
//     with Set and read with the typed Get[T], GetOr, Pop; Modify is an
//     atomic read-modify-write; Login, Renew, Destroy, SetPersistent,
//     AddFlash/Flashes. Save commits early and returns the error.
//   - The cache: a manager reads through an in-process cache in front
//     of its store, bounded (or turned off) by Config.Cache;
//     Manager.Stats reports it, Manager.PurgeCache empties it.
//   - Devices: UserSessions, Revoke, RevokeOthers, a per-user cap, fresh
//     logins (RequireFresh) and lifecycle Hooks.
//   - Errors are sentinels for errors.Is (ErrUnavailable, ErrTooLarge,
//     ...); StatusCode maps them to HTTP statuses, SetRetryAfter adds the
//     Retry-After of a 503.
//
// For other audiences: store authors find the store contract in package
// core/storage (records keyed by the SHA-256 of the token, with a version
// for conditional updates) and its conformance suite in core/storetest;
// adapter authors start a request's session with Manager.Begin and commit
// it through core/adapter, as ginsession and echosession do.
package core
