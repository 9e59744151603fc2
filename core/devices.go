package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hybridsession/hybridsession/core/storage"
)

// lastSeenInterval is how often, at most, a session's LastSeenAt is
// written: reads of a session write its last-seen time once per interval,
// folded into the idle refresh when both are due.
const lastSeenInterval = time.Minute

// Longest IP and user agent kept with a session, in bytes.
const (
	maxIPBytes        = 64
	maxUserAgentBytes = 256
)

// EndReason tells why a session was destroyed.
type EndReason string

// The reasons a Hooks.Destroyed event gives.
const (
	EndLogout   EndReason = "logout"   // Destroy
	EndRevoke   EndReason = "revoke"   // Revoke, RevokeOthers, LogoutEverywhere
	EndCap      EndReason = "cap"      // a login past Config.MaxSessionsPerUser
	EndEveryone EndReason = "everyone" // Manager.LogoutEveryone
)

// Event is a session's lifecycle event, as Hooks receive it.
type Event struct {
	// Handle is the session's public handle (SessionInfo.Handle).
	Handle string
	// UserID is the session's user; empty when anonymous.
	UserID string
	// Reason is why a destroyed session ended; empty for other events.
	Reason EndReason
}

// Hooks are called after a session event has been stored, each exactly
// once per event, also with several instances: only the instance whose
// write made the event calls its hook. They run in the goroutine of the
// request (or of the cleanup) that made the event, and must be quick and
// must not use the session. A nil hook is not called.
type Hooks struct {
	// Created: a new session was stored.
	Created func(Event)
	// Renewed: a session got a new token (Login, Renew); its handle stays.
	Renewed func(Event)
	// Destroyed: a session was ended, for Event.Reason.
	Destroyed func(Event)
	// Expired: the cleanup removed an expired session (only the instance
	// running the cleanup batch reports it).
	Expired func(Event)
}

// fire calls hook, if set, with an event for each record.
func fire(hook func(Event), reason EndReason, recs ...storage.Record) {
	if hook == nil {
		return
	}
	for _, r := range recs {
		hook(Event{Handle: r.Handle, UserID: r.UserID, Reason: reason})
	}
}

// CapPolicy is what a login past Config.MaxSessionsPerUser does.
type CapPolicy int

const (
	// CapEndLeastRecent ends the user's least recently seen sessions (ties:
	// the one that logged in first) so that the login fits.
	CapEndLeastRecent CapPolicy = iota
	// CapRefuse refuses the login: its save fails with ErrTooManySessions
	// and stores nothing.
	CapRefuse
)

// SessionInfo describes one live session of a user, for a "where you are
// logged in" page. Its JSON is the example apps' GET /sessions entry.
type SessionInfo struct {
	// Handle names the session in Revoke: neither its token nor the
	// token's hash, and stable across renewals.
	Handle string `json:"id"`
	// Current is set on the session of the request that asked.
	Current bool `json:"current"`
	// CreatedAt is when the session, or the login that restarted it,
	// began.
	CreatedAt time.Time `json:"created_at"`
	// AuthenticatedAt is its last login (zero when it never logged in).
	AuthenticatedAt time.Time `json:"authenticated_at,omitzero"`
	// LastSeenAt is its last use, to the minute (zero for a
	// session stored before last-seen times, until it is used).
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	// IP and UserAgent are the client's at creation or the last login.
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// newHandle returns a fresh session handle: 16 random bytes, base64url.
func newHandle() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error; it crashes the program if the OS has no randomness
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// RemoteIP is the default Config.ClientIP: the host of the direct peer's
// address. Behind a proxy it is the proxy's; see docs/devices.md for
// taking the client's address from a header set by proxies you trust.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// client returns the IP (or its keyed hash) and user agent of the
// request, truncated. The caller holds s.mu.
func (s *Session) client() (ip, userAgent string) {
	if s.req == nil {
		return "", ""
	}
	ip = s.m.cfg.ClientIP(s.req)
	if key := s.m.cfg.IPHashKey; key != nil && ip != "" {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(ip))
		ip = hex.EncodeToString(mac.Sum(nil)[:16])
	}
	return truncate(ip, maxIPBytes), truncate(s.req.UserAgent(), maxUserAgentBytes)
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Handle returns the session's public handle, or "" when it has no record
// yet (a new session gets one at its first save).
func (s *Session) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.base.record().Handle
}

// AuthenticatedAt returns when the session last logged in: the time of a
// Login saved by an earlier request, or now for a Login pending in this
// one; zero when it never did.
func (s *Session) AuthenticatedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.changes.login {
		return now()
	}
	return s.base.record().AuthenticatedAt
}

// Fresh reports whether the session is logged in and logged in within
// maxAge: the check before a sensitive action (see RequireFresh).
func (s *Session) Fresh(maxAge time.Duration) bool {
	at := s.AuthenticatedAt()
	return s.UserID() != "" && !at.IsZero() && now().Sub(at) <= maxAge
}

// CheckFresh returns nil when s is logged in within maxAge; otherwise
// ErrNotLoggedIn (401) or ErrNotFresh (403), or the error that kept the
// session from loading.
func CheckFresh(s *Session, maxAge time.Duration) error {
	if err := s.Err(); err != nil {
		return err
	}
	switch {
	case s.UserID() == "":
		return ErrNotLoggedIn
	case !s.Fresh(maxAge):
		return ErrNotFresh
	}
	return nil
}

// RequireFresh is net/http middleware that lets a request through only
// when its session logged in within maxAge; otherwise it answers as
// Config.ErrorHandler does for CheckFresh's error (401 or 403). It goes
// inside Manager.Middleware.
func (m *Manager) RequireFresh(maxAge time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := FromContext(r.Context())
			if !ok {
				m.cfg.ErrorHandler(w, r, fmt.Errorf("core: RequireFresh outside Manager.Middleware: %w", ErrNotLoggedIn))
				return
			}
			if err := CheckFresh(s, maxAge); err != nil {
				m.cfg.ErrorHandler(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// UserSessions returns the live sessions of userID, most recently seen
// first, with one indexed query.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	if userID == "" {
		return nil, nil
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	recs, err := m.store.ListUser(ctx, userID, now())
	if err != nil {
		return nil, fmt.Errorf("core: list sessions of user: %w", err)
	}
	byLastSeen(recs)
	infos := make([]SessionInfo, len(recs))
	for i, r := range recs {
		infos[i] = SessionInfo{Handle: r.Handle, CreatedAt: r.CreatedAt, AuthenticatedAt: r.AuthenticatedAt,
			LastSeenAt: r.LastSeenAt, IP: r.IP, UserAgent: r.UserAgent}
	}
	return infos, nil
}

// byLastSeen sorts records most recently seen first; among equals, the
// latest login first.
func byLastSeen(recs []storage.Record) {
	slices.SortStableFunc(recs, func(a, b storage.Record) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		return b.AuthenticatedAt.Compare(a.AuthenticatedAt)
	})
}

// UserSessions returns the live sessions of this session's user, most
// recently seen first, this one marked Current; ErrNotLoggedIn (401) when
// the session is anonymous.
func (s *Session) UserSessions(ctx context.Context) ([]SessionInfo, error) {
	s.mu.Lock()
	err := s.loadedErr()
	userID, handle := s.userID, s.base.record().Handle
	s.mu.Unlock()
	switch {
	case err != nil:
		return nil, err
	case userID == "":
		return nil, fmt.Errorf("core: list sessions: %w", ErrNotLoggedIn)
	}
	infos, err := s.m.UserSessions(ctx, userID)
	for i := range infos {
		infos[i].Current = handle != "" && infos[i].Handle == handle
	}
	return infos, err
}

// loadedErr loads the session and returns why it could not be. The caller
// holds s.mu.
func (s *Session) loadedErr() error {
	s.load()
	return s.base.err
}

// Revoke ends the session named handle, if it is a live session of this
// session's user, at once, and reports whether it was. Revoking this very
// session is Destroy (compare Handle to tell). An anonymous session
// revokes nothing: ErrNotLoggedIn (401).
func (s *Session) Revoke(ctx context.Context, handle string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notWriting()
	if err := s.loadedErr(); err != nil {
		return false, err
	}
	if s.userID == "" {
		return false, fmt.Errorf("core: revoke session: %w", ErrNotLoggedIn)
	}
	if handle == "" {
		return false, nil
	}
	if handle == s.base.record().Handle {
		return true, s.destroy(ctx, EndRevoke)
	}
	ctx, cancel := s.m.storeContext(ctx)
	defer cancel()
	recs, err := s.m.store.ListUser(ctx, s.userID, now())
	if err != nil {
		return false, fmt.Errorf("core: revoke session: %w", err)
	}
	i := slices.IndexFunc(recs, func(r storage.Record) bool { return r.Handle == handle })
	if i < 0 {
		return false, nil
	}
	return s.m.end(ctx, recs[i].ID, EndRevoke)
}

// end deletes the record id and reports the event, when this call is the
// one that deleted it.
func (m *Manager) end(ctx context.Context, id string, reason EndReason) (bool, error) {
	removed, err := m.store.Delete(ctx, id)
	if err != nil {
		return false, fmt.Errorf("core: end session: %w", err)
	}
	fire(m.cfg.Hooks.Destroyed, reason, removed...)
	return len(removed) > 0, nil
}

// RevokeOthers ends every other session of this session's user, at once,
// and returns how many there were; this one stays. An anonymous session
// revokes nothing: ErrNotLoggedIn (401).
func (s *Session) RevokeOthers(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notWriting()
	if err := s.loadedErr(); err != nil {
		return 0, err
	}
	if s.userID == "" {
		return 0, fmt.Errorf("core: revoke other sessions: %w", ErrNotLoggedIn)
	}
	return s.m.destroyUser(ctx, s.userID, s.base.record().ID)
}

// destroyUser deletes every session of userID but keepID and reports them.
func (m *Manager) destroyUser(ctx context.Context, userID, keepID string) (int, error) {
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	removed, err := m.store.DeleteUser(ctx, userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("core: destroy sessions of user: %w", err)
	}
	fire(m.cfg.Hooks.Destroyed, EndRevoke, removed...)
	return len(removed), nil
}

// LogoutEveryone ends every session of every user, at once and in batches,
// and returns how many there were: the operator's call after a breach.
// Every instance's cache drops them as for any other deletion.
func (m *Manager) LogoutEveryone(ctx context.Context) (int, error) {
	n, err := storage.DeleteBatches(ctx, m.store.DeleteAll, storage.DefaultCleanupBatch, func(removed []storage.Record) {
		fire(m.cfg.Hooks.Destroyed, EndEveryone, removed...)
	})
	if err != nil {
		return n, fmt.Errorf("core: destroy every session: %w", err)
	}
	return n, nil
}

// refuseOverCap applies CapRefuse to a login of this session, before it
// is stored: ErrTooManySessions when the user already has
// Config.MaxSessionsPerUser other live sessions. The caller holds s.mu.
func (s *Session) refuseOverCap(ctx context.Context) error {
	others, err := s.otherSessions(ctx)
	if err != nil {
		return fmt.Errorf("core: login: sessions of the user: %w", err)
	}
	if len(others) >= s.m.cfg.MaxSessionsPerUser {
		return fmt.Errorf("core: login: %w: %d live sessions, at most %d", ErrTooManySessions, len(others), s.m.cfg.MaxSessionsPerUser)
	}
	return nil
}

// endLeastRecent applies CapEndLeastRecent to a login of this session,
// once it is stored: it keeps this session and the user's
// Config.MaxSessionsPerUser-1 most recently seen others, and ends the rest
// (the least recently seen first; ties: the first to log in). Listing
// after the login is stored lets logins that race see each other: the
// last to list ends what the others kept too many of. A failure is
// logged: the login itself is stored. The caller holds s.mu.
func (s *Session) endLeastRecent(ctx context.Context) {
	others, err := s.otherSessions(ctx)
	if err != nil {
		s.m.cfg.Logger.Warn("could not list the sessions of a user for the per-user cap", "error", err)
		return
	}
	extra := len(others) + 1 - s.m.cfg.MaxSessionsPerUser
	if extra <= 0 {
		return
	}
	slices.SortStableFunc(others, func(a, b storage.Record) int {
		if c := a.LastSeenAt.Compare(b.LastSeenAt); c != 0 {
			return c
		}
		return a.AuthenticatedAt.Compare(b.AuthenticatedAt)
	})
	for _, r := range others[:extra] {
		if _, err := s.m.end(ctx, r.ID, EndCap); err != nil {
			s.m.cfg.Logger.Warn("could not end a session past the per-user cap", "record", shortID(r.ID), "error", err)
		}
	}
}

// otherSessions lists the live sessions of this session's user but this
// one. The caller holds s.mu.
func (s *Session) otherSessions(ctx context.Context) ([]storage.Record, error) {
	recs, err := s.m.store.ListUser(ctx, s.userID, now())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r storage.Record) bool { return s.base.rec != nil && r.ID == s.base.rec.ID }), nil
}
