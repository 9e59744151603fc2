package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// Session is the session of one request. It loads lazily: nothing touches
// the store until a method reads or writes a value. It is safe for use by
// several goroutines of the same request.
//
// A session is committed by the middleware just before the response headers
// are written: saved if it was modified (but not when the response is a
// 5xx), its idle expiry refreshed when due, and its cookie set when it
// changed. Save commits earlier and returns the error to the handler.
//
// Change the session before the response starts (its first body byte or
// WriteHeader): a change after the commit cannot be saved, since the
// cookie has gone out. It is logged, once per request, and Save and
// Modify return ErrCommitted, so that nothing is dropped without a word.
//
// Calls that act at once, whatever the response: Save, Modify, Destroy,
// LogoutEverywhere, Revoke and RevokeOthers. Everything else (Set, Delete,
// Clear, Login, Renew, SetPersistent, ...) takes effect at the commit.
type Session struct {
	m      *Manager
	req    *http.Request  // for the client's address and user agent
	reqCtx sessionContext // the request's context, carrying this session; its parent serves lazy loads

	mu      sync.Mutex
	cookie  cookieState // what the request sent, and what the response's cookie must do
	base    baseState   // the record this request's changes apply to
	vals    valueSet    // the values: the base's, and this request's changes
	userID  string      // the user, as this request sees it
	outcome commitState // the commit's, once it ran
	persist bool        // whether the cookie outlives the browser session, likewise
	changes changeSet   // what this request changed, besides the values
	// writing and modifying guard against a Modify function that saves
	// its own session (see notWriting).
	writing   bool // this session holds its turn in the commit queue
	modifying bool // a Modify function is running
}

// The states below keep their booleans last, so that they pack: a Session
// is allocated by every request that passes the middleware.

// cookieState is the session cookie: the token the request carried, and
// what the response must do with the cookie.
type cookieState struct {
	lines   []string // the request's Cookie headers, until read
	token   string   // current token; empty until the session has a record
	proven  *keyring // the ring under which the request's token proved authentic; nil for an untagged one
	cached  *entry   // the cache's record of the request's token, met while it was read
	read    bool     // readCookie has picked the token from them
	sent    bool     // the request carried an authentic session cookie
	renewed bool     // the response must carry a new token
	resend  bool     // the response must carry the cookie again (its persistence changed)
	expire  bool     // the response must drop the cookie
}

// baseState is what was loaded from the store, or last written to it.
type baseState struct {
	err error // why loading failed, if it did
	// rec is the token's stored record as last read or written, nil when
	// there is none. It may be the cache's own: it is replaced, never
	// modified.
	rec    *storage.Record
	at     time.Time // when load ran
	loaded bool      // load has run
}

// noRecord is the record of a session that has none; never modified.
var noRecord storage.Record

// record returns the stored record, or the zero record when there is none.
func (b *baseState) record() *storage.Record {
	if b.rec == nil {
		return &noRecord
	}
	return b.rec
}

// changeSet is what this request changed, besides the values; a save
// writes it and clears it.
type changeSet struct {
	modified bool // something to save
	user     bool // the user binding changed
	persist  bool // the cookie's persistence changed
	renew    bool // a new token at the next save
	login    bool // a login: the absolute lifetime starts anew, authenticated now
}

// commitState is the outcome of Commit.
type commitState struct {
	err        error
	done       bool
	lateLogged bool // a change after the commit was logged
}

// now is the time as sessions record it: UTC, to the microsecond that SQL
// databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// load reads the session from the store once. The caller holds s.mu.
func (s *Session) load() {
	if s.base.loaded {
		return
	}
	s.base.loaded = true
	s.persist = !s.m.cfg.BrowserSessionCookies
	t := now()
	s.base.at = t
	if err := s.readCookie(t); err != nil {
		s.base.err = fmt.Errorf("core: load session: %w", err)
		return
	}
	if s.cookie.token == "" {
		return
	}
	if e := s.cookie.cached; e != nil {
		// The hot path: no timer, no store call, and at most one tag check
		// per key ring (see known).
		if s.cookie.proven != nil && e.proven.Load() != s.cookie.proven {
			e.proven.Store(s.cookie.proven)
		}
		s.adoptDecoded(&e.rec, e.values)
		// Corrupt data was logged when it was first read from the store.
		s.vals.cleared = e.values == nil
		return
	}
	ctx, cancel := s.m.storeContext(s.reqCtx.Context)
	defer cancel()
	find := s.m.store.Find
	if s.m.cache != nil {
		find = s.m.cache.fetch // known has peeked: one lookup path, not two
	}
	rec, found, err := find(ctx, storage.RecordID(s.cookie.token), t)
	if err != nil {
		s.base.err = fmt.Errorf("core: load session: %w", err)
		return
	}
	if !found {
		// Unknown or expired: never adopt a token the server did not issue
		// for a live session (no session fixation).
		s.cookie.token = ""
		s.cookie.expire = true
		return
	}
	s.adopt(rec)
}

// readCookie picks the request's token once (see pickToken); a request
// with no authentic session cookie is left with none. It needs the key
// ring only when a cookie of the session's name was sent. The caller
// holds s.mu.
func (s *Session) readCookie(t time.Time) error {
	if s.cookie.read {
		return nil
	}
	ring := func() (*keyring, error) { return s.m.keys.ring(s.reqCtx.Context, t) }
	var known func(string, *keyring) bool
	if s.m.cache != nil {
		known = func(token string, r *keyring) bool { return s.known(token, r, t) }
	}
	token, proven, rejected, err := pickToken(s.cookie.lines, s.m.cfg.CookieName, ring, known, t)
	if err != nil {
		return err
	}
	if rejected > 0 {
		s.m.reject.add(rejected, t, s.m.cfg.Logger)
	}
	// known looked up the token taken last, unless that is an untagged
	// one, which comes after every other candidate.
	switch c := s.cookie.cached; {
	case token == "":
		s.cookie.cached = nil
	case proven == nil && s.m.cache != nil && (c == nil || c.rec.ID != storage.RecordID(token)):
		s.cookie.cached = s.m.cache.peek(storage.RecordID(token), t)
	}
	s.cookie.read, s.cookie.lines = true, nil
	s.cookie.token, s.cookie.sent, s.cookie.proven = token, token != "", proven
	return nil
}

// known tells pickToken whether token names a cached record for which a
// token already proved authentic under ring r: then its tag need not be
// computed again, since no other token names that record (its id is the
// token's SHA-256) and r's keys are as they were. A key ring read anew
// (every TokenKeyRefresh with the store's keys) or a record written anew
// takes one tag check again. known keeps the cached record for load, so
// that the cache is asked once. The caller holds s.mu.
func (s *Session) known(token string, r *keyring, t time.Time) bool {
	s.cookie.cached = nil
	if len(token) != tokenLen {
		return false // not even the shape of one: no hashing of junk
	}
	s.cookie.cached = s.m.cache.peek(storage.RecordID(token), t)
	return s.cookie.cached != nil && s.cookie.cached.proven.Load() == r
}

// adopt makes rec the session's stored state, keeping nothing of this
// request's changes. The caller holds s.mu.
func (s *Session) adopt(rec storage.Record) {
	values, err := decodeStored(rec.Data)
	if err != nil {
		s.m.cfg.Logger.Warn("session data corrupt; starting with an empty session",
			"record", shortID(rec.ID), "error", err)
		values = nil
		s.vals.cleared = true // a save writes only what this request sets
	}
	s.adoptDecoded(&rec, values)
}

// adoptDecoded is adopt with the values already decoded; rec is never
// modified.
func (s *Session) adoptDecoded(rec *storage.Record, values storedValues) {
	s.base.rec = rec
	s.userID = rec.UserID
	s.persist = rec.Persistent
	s.vals.base = values
}

// shortID is enough of a record id to correlate log lines.
func shortID(id string) string { return id[:min(len(id), 12)] }

// Err returns the error that kept the session from loading, such as an
// unreachable store; the session then reads as empty, and the commit fails
// with this error so that no response pretends otherwise.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.base.err
}

// Get returns the value stored under key and whether there is one. Values
// set during this request come back as set; stored values come back as the
// codec decodes them into an interface (see JSONCodec). Use the Get
// function for a typed read.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	v, ok := s.vals.lookup(key)
	if !ok {
		return nil, false
	}
	if !v.hasLive {
		var x any
		if err := s.m.cfg.Codec.Unmarshal(v.raw, &x); err != nil {
			s.m.cfg.Logger.Warn("session value undecodable", "key", key, "error", err)
			return nil, false
		}
		v.live, v.hasLive = x, true
		s.vals.remember(key, v)
	}
	return v.live, true
}

// Get returns the value stored under key as a T, and false when there is
// none or it cannot be read as a T (which is logged).
func Get[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return get[T](s, key)
}

func get[T any](s *Session, key string) (T, bool) {
	s.load()
	v, ok := s.vals.lookup(key)
	return valueAs[T](s.m, key, v, ok)
}

// valueAs returns v, the value under key if ok, as a T; false when there
// is none or it cannot be read as a T (which is logged). It reads no
// session state, so it needs no lock.
func valueAs[T any](m *Manager, key string, v value, ok bool) (T, bool) {
	var t T
	if !ok {
		return t, false
	}
	if v.hasLive {
		if x, ok := v.live.(T); ok {
			return x, true
		}
	}
	raw, err := v.raw, error(nil)
	if raw == nil {
		raw, err = m.cfg.Codec.Marshal(v.live)
	}
	if err == nil {
		err = m.cfg.Codec.Unmarshal(raw, &t)
	}
	if err != nil {
		m.cfg.Logger.Warn("session value unreadable", "key", key, "type", fmt.Sprintf("%T", t), "error", err)
		var zero T
		return zero, false
	}
	return t, true
}

// GetOr returns the value under key as a T, or def when there is none.
func GetOr[T any](s *Session, key string, def T) T {
	if v, ok := Get[T](s, key); ok {
		return v
	}
	return def
}

// Modify changes the value under key atomically with respect to other
// requests of the same session, on this instance or another: fn gets the
// current value (and whether there is one) and returns the new value. The
// session is saved at once, with any other pending change; when another
// request saved first, fn runs again on the newer value. Modify returns the
// value stored. Use it for counters and carts; fn may run several times and
// must have no side effects. It may read the session (Get, GetOr, Has,
// UserID, ...), but must not save or destroy it: Save, Modify, Destroy or
// LogoutEverywhere called from fn panic. Unlike other changes, this one is saved
// even if the response turns out to be an error.
//
// The requests of one session on one instance take turns to save, in the
// order they arrive, so that contention costs waiting, not errors. A
// failure wrapping ErrUnavailable means that the change was not stored:
// the store could not be reached, or the session was contended past the
// store timeout. A failed Modify is taken back, so that the session holds
// what it held before and a retry counts once.
func Modify[T any](ctx context.Context, s *Session, key string, fn func(old T, ok bool) T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	s.load()
	if s.base.err != nil {
		return zero, s.base.err
	}
	if s.outcome.done {
		s.changed() // logged
		return zero, fmt.Errorf("core: modify session: %w", ErrCommitted)
	}
	u := update{key: key, fn: func(old value, ok bool) any {
		v, ok := valueAs[T](s.m, key, old, ok)
		return fn(v, ok)
	}}
	before := s.vals.before(key)
	s.apply(u)
	s.vals.updates = append(s.vals.updates, u)
	if err := s.save(ctx, false); err != nil {
		s.vals.takeBack(before)
		return zero, err
	}
	v, _ := get[T](s, key)
	return v, nil
}

// apply sets the value under u's key to what u computes from the current
// one. u runs without the session's lock, so that Modify's function may
// read the session; the commit queue keeps other saves of this session out
// meanwhile. The caller holds s.mu.
func (s *Session) apply(u update) {
	old, ok := s.vals.lookup(u.key)
	var v any
	func() {
		s.modifying = true
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.modifying = false
		}()
		v = u.fn(old, ok)
	}()
	s.vals.set(u.key, v)
	s.changed()
}

// Pop returns the value under key as a T and deletes it.
func Pop[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := get[T](s, key)
	if s.vals.del(key) {
		s.changed()
	}
	return v, ok
}

// Has reports whether a value is stored under key.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	_, ok := s.vals.lookup(key)
	return ok
}

// Keys returns the keys of the session's values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.vals.keys()
}

// Set stores v under key. It is encoded when the session is saved, so a
// value that the codec cannot encode makes that save fail with ErrEncode.
func (s *Session) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.vals.set(key, v)
	s.changed()
}

// Delete removes the value under key; a missing key is not an error.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.vals.del(key) {
		s.changed()
	}
}

// Clear removes every value. The user binding and the token are kept.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.vals.clear()
	s.changed()
}

// flashKey holds the pending flash messages.
const flashKey = "_flash"

// AddFlash queues a message for a later request, which reads it once with
// Flashes.
func (s *Session) AddFlash(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, _ := get[[]string](s, flashKey)
	s.vals.set(flashKey, append(msgs, msg))
	s.changed()
}

// Flashes returns the queued flash messages and removes them; nil when
// there are none.
func (s *Session) Flashes() []string {
	msgs, _ := Pop[[]string](s, flashKey)
	return msgs
}

// UserID returns the user the session is bound to, or "" when anonymous.
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.userID
}

// setUserID binds the session to a user. Login is the only way in: it
// also renews the token, so that no one who knew the anonymous token
// shares the login (session fixation). The caller holds s.mu.
func (s *Session) setUserID(id string) {
	s.load()
	if id != s.userID {
		s.userID, s.changes.user = id, true
		s.changed()
	}
}

// SetPersistent chooses a persistent cookie (remember me: kept until the
// session expires) or a browser-session cookie (dropped when the browser
// closes). The server-side expiry is the same either way.
func (s *Session) SetPersistent(persistent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if persistent != s.persist {
		s.persist, s.changes.persist = persistent, true
		s.changed()
	}
}

// Renew gives the session a new token when it is saved, keeping its values
// and absolute expiry, and deletes the record of the old token (Django's
// cycle_key). Call it whenever privileges change.
func (s *Session) Renew() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.changes.renew = true
	s.changed()
}

// Login renews the session, binds it to userID and starts its absolute
// lifetime anew: call it after authenticating a user.
func (s *Session) Login(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setUserID(userID)
	s.changes.renew, s.changes.login = true, true
	s.changed()
}

// Destroy deletes the session's record at once and empties the session; the
// cookie is expired when the response is written. A value set afterwards
// starts a new session with a new token. Destroying a session that was
// never saved only drops its cookie.
func (s *Session) Destroy(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notWriting()
	return s.destroy(ctx, EndLogout)
}

// destroy deletes the session's record, if it has one, ended for reason,
// with no need to load it first (the store returns what the event
// reports), and empties the session. The caller holds s.mu.
func (s *Session) destroy(ctx context.Context, reason EndReason) error {
	if err := s.readCookie(now()); err != nil {
		return fmt.Errorf("core: destroy session: %w", err)
	}
	if s.cookie.token != "" {
		ctx, cancel := s.m.storeContext(ctx)
		defer cancel()
		if _, err := s.m.end(ctx, storage.RecordID(s.cookie.token), reason); err != nil {
			return fmt.Errorf("core: destroy session: %w", err)
		}
	}
	s.reset()
	return nil
}

// LogoutEverywhere ends every session of this session's user, this one
// included, at once, and returns how many there were. An anonymous
// session is destroyed alone and counts 0.
func (s *Session) LogoutEverywhere(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notWriting()
	s.load()
	if s.base.err != nil {
		return 0, s.base.err
	}
	if s.userID == "" {
		return 0, s.destroy(ctx, EndLogout)
	}
	n, err := s.m.LogoutEverywhere(ctx, s.userID)
	if err != nil {
		return 0, err
	}
	s.reset()
	return n, nil
}

// notWriting panics when a Modify function is running or the session is
// being saved: a Modify function that saves or destroys its own session
// would otherwise wait for itself. The caller holds s.mu.
func (s *Session) notWriting() {
	if s.writing || s.modifying {
		panic("core: a Modify function saved or destroyed the session it modifies; it may read the session, but not Save, Modify or Destroy it")
	}
}

// reset empties a destroyed session. The caller holds s.mu.
func (s *Session) reset() {
	s.dropToken()
	s.base = baseState{loaded: true, at: s.base.at}
	s.vals = valueSet{}
	s.userID, s.persist = "", !s.m.cfg.BrowserSessionCookies
	s.changes = changeSet{}
}

// dropToken forgets the session's token: the response drops the cookie
// if the request sent one or this request set one. The caller holds s.mu.
func (s *Session) dropToken() {
	sent := s.cookie.sent
	s.cookie = cookieState{read: true, sent: sent, expire: sent || s.cookie.renewed}
}

// Save writes the session to the store now, if it changed, and returns what
// went wrong. The middleware still sets the cookie; saving again at commit
// is skipped unless the session changes again.
func (s *Session) Save(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.base.err != nil {
		return s.base.err
	}
	if s.outcome.done && s.dirty(false) {
		return fmt.Errorf("core: save session: %w", ErrCommitted)
	}
	return s.save(ctx, false)
}

// changed marks the session modified. A change after the commit, when the
// response has started, can no longer be saved: it is logged, once per
// request, and Save and Modify return ErrCommitted. The caller holds s.mu.
func (s *Session) changed() {
	s.changes.modified = true
	if s.outcome.done && !s.outcome.lateLogged {
		s.outcome.lateLogged = true
		s.m.cfg.Logger.Warn("session changed after the response started; the change is not saved (change the session before writing the body, or call Save first)",
			"record", shortID(s.base.record().ID))
	}
}

// Commit saves the session if needed and writes its Vary and Set-Cookie
// headers into h, once: later calls return the first result. A response
// with a status of 500 or more saves nothing. Middlewares call Commit just
// before the response headers are written; handlers use Save.
func (s *Session) Commit(h http.Header, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcome.done {
		return s.outcome.err
	}
	s.outcome.done = true
	s.outcome.err = s.commit(h, status)
	return s.outcome.err
}

func (s *Session) commit(h http.Header, status int) error {
	if !s.base.loaded && !s.m.cfg.SaveEveryRequest {
		return nil // never used: no store access, no cookie
	}
	s.load()
	addVary(h)
	if s.base.err != nil {
		return s.base.err
	}
	if status < http.StatusInternalServerError {
		force := s.m.cfg.SaveEveryRequest
		if s.dirty(force) {
			// A request cancelled by its client still saves what it changed.
			if err := s.save(context.WithoutCancel(s.reqCtx.Context), force); err != nil {
				return err
			}
		}
		s.refresh()
	}
	switch {
	case s.base.rec != nil && (s.cookie.renewed || s.cookie.resend):
		s.m.writeCookie(h, s.cookie.token, s.persist, s.base.rec.Deadline, now())
	case s.base.rec == nil && s.cookie.expire:
		s.m.expireCookie(h)
	}
	return nil
}

// varyCookie is the Vary header of responses that depend on the session;
// it is shared, and header values are never modified in place.
var varyCookie = []string{"Cookie"}

// addVary adds "Vary: Cookie" to h, without allocating in the common case.
func addVary(h http.Header) {
	if _, ok := h["Vary"]; !ok {
		h["Vary"] = varyCookie
		return
	}
	h.Add("Vary", "Cookie")
}

// dirty reports whether save has something to write.
func (s *Session) dirty(force bool) bool { return s.changes.modified || (force && s.base.rec != nil) }

// optimisticRounds is how many conditional updates a save tries on a record
// that other instances keep changing before it writes under the record's
// lock (Store.UpdateLocked), which guarantees progress.
const optimisticRounds = 2

// settleTimeout bounds the read that settles a write whose answer was lost.
const settleTimeout = time.Second

// save writes the session if it changed (or always, when force is set and
// it exists). The caller holds s.mu.
func (s *Session) save(ctx context.Context, force bool) error {
	s.notWriting()
	if !s.dirty(force) {
		return nil
	}
	ctx, cancel := s.m.storeContext(ctx)
	defer cancel()
	capped := s.changes.login && s.userID != "" && s.m.cfg.MaxSessionsPerUser > 0
	var err error
	if capped && s.m.cfg.SessionCapPolicy == CapRefuse {
		if err = s.refuseOverCap(ctx); err != nil {
			return err
		}
	}
	if s.base.rec != nil {
		err = s.saveStored(ctx)
	}
	// A new session, or one whose record ended while this request ran.
	if err == nil && s.base.rec == nil && !(s.vals.empty() && s.userID == "") {
		err = s.create(ctx, now())
	}
	if err != nil {
		return err
	}
	if capped && s.m.cfg.SessionCapPolicy == CapEndLeastRecent {
		s.endLeastRecent(ctx)
	}
	if s.changes.persist {
		s.cookie.resend = true // with its new lifetime
	}
	s.changes = changeSet{}
	return nil
}

// saveStored writes the changes of a stored session. It waits for the
// session's turn on this instance, moves onto the version the previous
// holder left, and writes: a conditional update (or renewal) that, when
// another instance wrote first, waits a little, reads the record again and
// re-applies this request's changes, until the deadline; after
// optimisticRounds conflicts, under the record's lock. The caller holds
// s.mu.
func (s *Session) saveStored(ctx context.Context) error {
	release, err := s.m.queue.acquire(ctx, s.base.rec.ID)
	if err != nil {
		return fmt.Errorf("core: save session: waiting for its turn: %w: %w", ErrUnavailable, err)
	}
	s.writing = true
	defer func() {
		s.writing = false
		release()
	}()
	s.catchUp(now())
	for attempt := 1; ; attempt++ {
		t := now()
		switch {
		case s.changes.renew:
			err = s.replace(ctx, t)
		case attempt > optimisticRounds:
			err = s.updateLocked(ctx, t)
		default:
			err = s.update(ctx, t)
		}
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		// Back off before the reload, never between it and the write, so
		// that the version read is still current when the write runs.
		if err := pause(ctx, attempt); err != nil {
			return fmt.Errorf("core: save session: contended, gave up after %d attempts: %w: %w", attempt, ErrUnavailable, err)
		}
		latest, found, err := s.m.store.Find(ctx, s.base.rec.ID, now())
		if err != nil {
			return fmt.Errorf("core: save session: reload: %w", err)
		}
		if !found {
			s.startOver()
			return nil
		}
		s.rebase(latest)
	}
}

// catchUp moves the session onto the newest version this instance knows,
// the one the previous holder of the turn left in the cache, so that the
// write that follows meets no conflict. The caller holds s.mu.
func (s *Session) catchUp(t time.Time) {
	if s.m.cache == nil {
		return
	}
	if e := s.m.cache.peek(s.base.rec.ID, t); e != nil && e.rec.Version > s.base.rec.Version {
		s.rebase(e.rec)
	}
}

// record builds the record this session would store, with its data, and
// returns the values it encodes.
func (s *Session) record(t time.Time) (storage.Record, storedValues, error) {
	values, err := s.vals.encode(s.m.cfg.Codec)
	if err != nil {
		return storage.Record{}, nil, fmt.Errorf("core: %w", err)
	}
	data := values.encode()
	if len(data) > s.m.cfg.MaxDataSize {
		return storage.Record{}, nil, fmt.Errorf("core: %w: %d bytes, limit %d", ErrTooLarge, len(data), s.m.cfg.MaxDataSize)
	}
	rec := *s.base.record()
	if s.base.rec == nil || s.changes.login {
		rec.CreatedAt = t
		rec.Deadline = t.Add(s.m.cfg.Lifetime)
		rec.IP, rec.UserAgent = s.client()
	}
	if s.changes.login {
		rec.AuthenticatedAt = t
	}
	if rec.Handle == "" {
		rec.Handle = newHandle() // a new session, or one stored before handles
	}
	if t.After(rec.LastSeenAt) {
		rec.LastSeenAt = t // a write is a sighting
	}
	rec.UserID = s.userID
	rec.Persistent = s.persist
	rec.Data = data
	rec.ExpiresAt = s.m.expiry(t, rec.Deadline)
	return rec, values, nil
}

// update writes the session with one conditional update.
func (s *Session) update(ctx context.Context, t time.Time) error {
	rec, values, err := s.record(t)
	if err != nil {
		return err
	}
	actx, cancel := attemptContext(ctx)
	defer cancel()
	err = s.m.store.Update(actx, rec, t)
	rec.Version++
	if errors.Is(err, storage.ErrConflict) {
		return err
	}
	if err := s.settle(err, rec); err != nil {
		return fmt.Errorf("core: save session: %w", err)
	}
	s.wrote(rec, values)
	return nil
}

// updateLocked writes the session under the record's lock: this request's
// changes are applied on the record as it is, and no one else can write
// meanwhile.
func (s *Session) updateLocked(ctx context.Context, t time.Time) error {
	var rec storage.Record
	var values storedValues
	actx, cancel := attemptContext(ctx)
	defer cancel()
	err := s.m.store.UpdateLocked(actx, s.base.rec.ID, t, func(cur storage.Record) (storage.Record, error) {
		s.rebase(cur)
		var err error
		rec, values, err = s.record(t)
		return rec, err
	})
	if errors.Is(err, storage.ErrConflict) {
		return err
	}
	rec.Version++
	if err := s.settle(err, rec); err != nil {
		return fmt.Errorf("core: save session: %w", err)
	}
	s.wrote(rec, values)
	return nil
}

// replace renews the session: its record moves to a new token, if it is
// still at the version this request last saw.
func (s *Session) replace(ctx context.Context, t time.Time) error {
	return s.storeAnew(ctx, t, "renew", func(ctx context.Context, rec storage.Record) error {
		return s.m.store.Replace(ctx, s.base.rec.ID, s.base.rec.Version, rec, t)
	})
}

// create stores the session under a new token.
func (s *Session) create(ctx context.Context, t time.Time) error {
	return s.storeAnew(ctx, t, "create", s.m.store.Create)
}

// storeAnew stores the session under a new token with write, a Create or
// a Replace, and settles a lost answer. A conflict is returned as it is,
// for the caller to retry. The caller holds s.mu.
func (s *Session) storeAnew(ctx context.Context, t time.Time, op string, write func(context.Context, storage.Record) error) error {
	rec, values, err := s.record(t)
	if err != nil {
		return err
	}
	ring, err := s.m.keys.ring(ctx, t)
	if err != nil {
		return fmt.Errorf("core: %s session: %w", op, err)
	}
	token := ring.newToken()
	rec.ID, rec.Version = storage.RecordID(token), 1
	actx, cancel := attemptContext(ctx)
	defer cancel()
	err = write(actx, rec)
	if errors.Is(err, storage.ErrConflict) {
		return err
	}
	if err := s.settle(err, rec); err != nil {
		return fmt.Errorf("core: %s session: %w", op, err)
	}
	s.cookie.token, s.cookie.renewed = token, true
	s.wrote(rec, values)
	if op == "create" {
		fire(s.m.cfg.Hooks.Created, "", rec)
	} else {
		fire(s.m.cfg.Hooks.Renewed, "", rec)
	}
	return nil
}

// wrote makes rec, just stored with values, the session's stored state.
func (s *Session) wrote(rec storage.Record, values storedValues) {
	s.base.rec = &rec
	s.vals.saved(values)
}

// settle finds out whether a write that failed with err was stored all the
// same. When err is an outage (a timeout or a broken connection after the
// statement was sent, so that it may have committed and only its answer
// was lost), it reads the record again with a fresh deadline and returns
// nil if the record is exactly want, what the write stored. Otherwise it
// returns err.
func (s *Session) settle(err error, want storage.Record) error {
	if err == nil || !errors.Is(err, ErrUnavailable) || want.ID == "" {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.reqCtx.Context), settleTimeout)
	defer cancel()
	got, found, ferr := s.m.durable.Find(ctx, want.ID, now())
	if ferr != nil || !found || got.Version != want.Version || got.UserID != want.UserID || !bytes.Equal(got.Data, want.Data) {
		return err
	}
	s.m.cfg.Logger.Info("session write stored although its answer was lost", "record", shortID(want.ID), "error", err)
	return nil
}

// attemptContext gives one store write half of the time left before ctx's
// deadline, so that a write whose answer is lost leaves time to settle it,
// and a conflict time to try again.
func attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, time.Now().Add(time.Until(d)/2))
	}
	return ctx, func() {}
}

// pause waits a random few milliseconds, more after more attempts, so that
// requests of several instances competing for one record do not retry in
// lockstep.
func pause(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(time.Millisecond))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rebase is the merge: it puts this request's changes on top of a newer
// record. The user binding and the cookie's persistence, when this
// request changed them, and the values it set or deleted are kept as they
// are; its Modify updates are computed again, in order, on the newer
// values. Everything else is the newer record's. The caller holds s.mu.
func (s *Session) rebase(latest storage.Record) {
	userID, persistent := s.userID, s.persist
	s.adopt(latest)
	if s.changes.user {
		s.userID = userID
	}
	if s.changes.persist {
		s.persist = persistent
	}
	s.vals.rebase(s.vals.base)
	s.reapply()
}

// reapply computes this request's Modify updates again, in order, on the
// values as they are now. The caller holds s.mu.
func (s *Session) reapply() {
	for _, u := range s.vals.updates {
		s.apply(u)
	}
}

// startOver makes this request's changes the beginning of a new session,
// because its record was destroyed, renewed by another request or expired
// while this one ran. The late changes never bring the old session back,
// and the request is not failed for them: it gets a fresh session, as a
// request that arrives with that token now would.
func (s *Session) startOver() {
	if !s.changes.user {
		s.userID = ""
	}
	if !s.changes.persist {
		s.persist = !s.m.cfg.BrowserSessionCookies
	}
	s.dropToken()
	s.base.rec, s.changes.renew = nil, false
	s.vals.rebase(nil)
	s.reapply()
}

// refresh writes, alone, the idle expiry and the last-seen time when
// either is due: the idle expiry once per IdleRefreshInterval, the
// last-seen time once per lastSeenInterval, both with one Touch. A failure
// is logged, not returned: the request itself succeeded, and the session
// merely keeps its earlier times.
//
// Whether a refresh is due is judged at the time of the load, so that the
// common request, which needs none, reads the clock once; a refresh that
// falls due while a handler runs waits for the next request.
func (s *Session) refresh() {
	if s.base.rec == nil {
		return
	}
	if _, due := s.refreshDue(s.base.at); !due {
		return
	}
	t := now()
	next, due := s.refreshDue(t)
	if !due {
		return
	}
	ctx, cancel := s.m.storeContext(context.WithoutCancel(s.reqCtx.Context))
	defer cancel()
	if err := s.m.store.Touch(ctx, s.base.rec.ID, next, t, t); err != nil {
		s.m.cfg.Logger.Warn("session refresh failed", "record", shortID(s.base.rec.ID), "error", err)
		return
	}
	rec := *s.base.rec // the cache's, perhaps: replaced, not modified
	rec.ExpiresAt, rec.LastSeenAt = next, t
	s.base.rec = &rec
}

// refreshDue returns the idle expiry a refresh at t would write, and
// whether one is due then.
func (s *Session) refreshDue(t time.Time) (next time.Time, due bool) {
	rec := s.base.rec
	next = rec.ExpiresAt
	if s.m.cfg.IdleTimeout > 0 {
		if idle := s.m.expiry(t, rec.Deadline); idle.Sub(rec.ExpiresAt) >= s.m.cfg.IdleRefreshInterval {
			next = idle
		}
	}
	return next, !next.Equal(rec.ExpiresAt) || t.Sub(rec.LastSeenAt) >= lastSeenInterval
}
