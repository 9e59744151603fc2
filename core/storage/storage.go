// Package storage is the contract between hybridsession's core and the
// stores that keep sessions: the Record a store keeps, the Store
// interface, what a store shared by several processes announces, and the
// token keys a store may keep. Apps do not need it: they pass a store
// (gormstore, memstore) to core.NewManager. Store authors implement Store
// and check it with core/storetest.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Record is the durable form of one session, as a Store keeps it.
//
// Data is owned by nobody once it is handed over: neither stores, caches nor
// the manager modify a Data slice after creating it, so it may be shared.
type Record struct {
	// ID is the store key: RecordID of the session token, never the token.
	ID string
	// UserID is the user the session is bound to; empty when anonymous.
	UserID string
	// Data is the session values as core encodes them, opaque to a
	// store; nil and empty both mean no values.
	Data []byte
	// Version starts at 1 and grows by one with every Update.
	Version int64
	// Persistent tells whether the cookie outlives the browser session.
	Persistent bool
	// CreatedAt is when the session (or the login that restarted it) began.
	CreatedAt time.Time
	// Deadline is the absolute expiry: CreatedAt plus the lifetime. Renewal
	// keeps it; only a login restarts it.
	Deadline time.Time
	// ExpiresAt is the effective expiry: Deadline, or earlier when an idle
	// timeout applies. A record whose ExpiresAt has passed does not exist.
	ExpiresAt time.Time

	// Handle is the session's public name, shown to its user in a list
	// of their sessions: random, neither the token nor its hash, and kept
	// across renewals. Empty for records stored before handles existed,
	// until their next save.
	Handle string
	// AuthenticatedAt is when the session last logged in (Login); zero
	// when it never did.
	AuthenticatedAt time.Time
	// LastSeenAt is when the session was last used, moved forward at most
	// once a minute.
	LastSeenAt time.Time
	// IP and UserAgent are the client's, as of the session's creation or
	// last Login (see core.Config.ClientIP and IPHashKey).
	IP, UserAgent string
}

// Expired reports whether the record is expired at now.
func (r *Record) Expired(now time.Time) bool { return !now.Before(r.ExpiresAt) }

// Updated returns the record that an Update (or UpdateLocked) with rec
// leaves in place of cur: cur with rec's Data, Persistent, ExpiresAt,
// LastSeenAt and Handle, at cur's Version plus one.
func Updated(cur, rec Record) Record {
	cur.Data, cur.Persistent, cur.ExpiresAt, cur.LastSeenAt, cur.Handle = rec.Data, rec.Persistent, rec.ExpiresAt, rec.LastSeenAt, rec.Handle
	cur.Version++
	return cur
}

// Store is the durable record of sessions. Implementations must be safe for
// concurrent use. Every method takes the request's context and must give up
// when it is done.
//
// Errors that mean the backend failed must wrap ErrUnavailable. Not finding
// a record is not an error.
type Store interface {
	// Find returns the record with the given id. It returns found == false
	// and a nil error when the record is missing or expired at now.
	Find(ctx context.Context, id string, now time.Time) (rec Record, found bool, err error)

	// Create inserts a new record with Version 1. It never overwrites an
	// existing record: a taken id is an error that wraps neither
	// ErrConflict nor ErrUnavailable.
	Create(ctx context.Context, rec Record) error

	// Update stores the fields a session changes between logins (Data,
	// Persistent, ExpiresAt, LastSeenAt and Handle) and sets Version to
	// rec.Version+1, only if the stored record exists, has not expired at
	// now and has Version rec.Version. Otherwise it changes nothing and
	// returns ErrConflict. Update never inserts. It keeps the stored
	// UserID, CreatedAt, Deadline, AuthenticatedAt, IP and UserAgent:
	// those change only by Create and Replace (a login renews the token),
	// so that a change need not carry them to the store again.
	Update(ctx context.Context, rec Record, now time.Time) error

	// Touch sets the ExpiresAt of an existing, unexpired record and moves
	// its LastSeenAt forward to lastSeenAt (never backwards), and changes
	// nothing else, not even Version; it is the cheap write of an idle
	// refresh and of the last-seen time. A missing record is not an error.
	Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error

	// UpdateLocked is the pessimistic Update, for records that optimistic
	// updates keep missing: it reads the unexpired record id while keeping
	// every other writer of it out, passes it to change, and stores what
	// change returns (the fields Update stores; Version becomes
	// cur.Version+1),
	// all as one atomic step. When the record is missing or expired at now
	// it returns ErrConflict without calling change; an error from change
	// is returned as it is, and nothing is written.
	UpdateLocked(ctx context.Context, id string, now time.Time, change func(cur Record) (Record, error)) error

	// Replace deletes the record oldID and creates rec in its place, as one
	// atomic step (renewal), only if oldID exists, has not expired at now
	// and has Version oldVersion. Otherwise it changes nothing and returns
	// ErrConflict, so that a change saved by a concurrent request is never
	// lost to a renewal. A taken rec.ID is an error as for Create.
	Replace(ctx context.Context, oldID string, oldVersion int64, rec Record, now time.Time) error

	// Delete removes the record and returns it (ID, UserID and Handle),
	// as the other removals do: of several callers removing it at once,
	// exactly one gets it. A missing record is not an error: nothing is
	// returned.
	Delete(ctx context.Context, id string) (removed []Record, err error)

	// ListUser returns the unexpired records bound to userID, in no
	// particular order, without their Data. userID is never empty.
	ListUser(ctx context.Context, userID string, now time.Time) ([]Record, error)

	// DeleteUser removes every record bound to userID but keepID (which may
	// be empty) and returns what it removed: ID, UserID and Handle of each.
	// userID is never empty (anonymous sessions are not a user).
	DeleteUser(ctx context.Context, userID, keepID string) (removed []Record, err error)

	// DeleteExpired removes at most limit records that are expired at now
	// (see Record.Expired) and returns them (ID, UserID and Handle). A
	// store shared by several processes may remove none while another
	// process is removing them, so that one cleans at a time, and each
	// record is returned once.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (removed []Record, err error)

	// DeleteAll removes at most limit records, expired or not, and returns
	// them (ID, UserID and Handle): the operator's "log everyone out".
	DeleteAll(ctx context.Context, limit int) (removed []Record, err error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Invalidation announces that a record was changed or removed, possibly by
// another process sharing the store.
type Invalidation struct {
	// ID is the record id (never a token).
	ID string
	// Version is the record's version after the change; 0 means removed.
	Version int64
}

// InvalidationSource delivers the changes made to a store shared by several
// processes, so that each process's cache can drop what went stale.
// PostgreSQL's LISTEN/NOTIFY is one transport; a message broker would be
// another.
type InvalidationSource interface {
	// Listen subscribes to changes, calls ready once every later change
	// will be delivered, then calls deliver for each change until ctx is
	// done or the subscription fails. It returns why it stopped. A process
	// may receive its own changes too.
	Listen(ctx context.Context, ready func(), deliver func(Invalidation)) error
}

// SharedStore is implemented by stores that several processes may share.
type SharedStore interface {
	// Invalidations returns the source of the store's change announcements,
	// or nil when only one process can use the store (an SQLite file).
	Invalidations() InvalidationSource
}

// MinTokenKeyBytes is the shortest secret accepted as a token key.
const MinTokenKeyBytes = 32

// TokenKey is one secret of the key ring that tags session tokens.
type TokenKey struct {
	// ID goes into every token the key tags, so that verifying a token
	// costs one HMAC; ids need not be unique, only should be.
	ID byte
	// Secret is the HMAC key, at least MinTokenKeyBytes long.
	Secret []byte
}

// TokenKeys is the key ring a KeyStore keeps.
type TokenKeys struct {
	// Keys tag and verify tokens: Keys[0] tags new tokens, all of them
	// verify. A KeyStore puts first the key that signs now.
	Keys []TokenKey
	// UntaggedSince is set when the store held sessions from before tokens
	// were tagged: it is when it began keeping keys. Untagged tokens are
	// then looked up, as every token was before, for one core.Config.Lifetime
	// after it, by when every session they could name has expired. Zero
	// (every new store) means that a token whose tag fails never costs a
	// lookup.
	UntaggedSince time.Time
}

// KeyStore is a Store that keeps the key ring of its sessions' tokens, so
// that every process on the same data tags and verifies them alike with no
// configuration. gormstore keeps it in the database; memstore makes one
// per process.
type KeyStore interface {
	// TokenKeys returns the key ring, creating a key the first time, so
	// that callers that start together agree on one.
	TokenKeys(ctx context.Context) (TokenKeys, error)
}

// ConfigKey makes a TokenKey of a secret given in core.Config.TokenKeys: its id
// is the first byte of the secret's SHA-256, so that every instance given
// the same secrets gives them the same ids.
func ConfigKey(secret []byte) TokenKey {
	sum := sha256.Sum256(secret)
	return TokenKey{ID: sum[0], Secret: secret}
}

// RecordID returns the store key of a token: the hex SHA-256 of the token.
// Stores, caches and logs only ever see this, never the token itself.
func RecordID(token string) string {
	sum := sha256.Sum256([]byte(token))
	var id [2 * sha256.Size]byte
	hex.Encode(id[:], sum[:])
	return string(id[:])
}

// Errors of stores. They wrap their failures with them, so test for
// them with errors.Is.
var (
	// ErrUnavailable means the store could not be reached or failed to answer:
	// a database that is down, a timeout, a broken connection. Nothing was
	// saved. Stores wrap their driver errors with it.
	ErrUnavailable = errors.New("session store unavailable")

	// ErrConflict is returned by Store.Update, UpdateLocked and Replace
	// when the record is missing or its version is not the one expected:
	// another request changed or removed it since it was read. The manager
	// handles it (it re-applies the request's changes on the newer record);
	// it never reaches a handler.
	ErrConflict = errors.New("session record changed concurrently")
)

// DefaultCleanupBatch is how many expired records one DELETE removes.
const DefaultCleanupBatch = 1000

// DeleteExpired removes every record of store that expired before now, in
// batches of batch records (DefaultCleanupBatch when batch <= 0), so that
// no statement holds locks for long. After each batch it calls progress, if
// not nil, with the running total. It stops early when ctx is done.
func DeleteExpired(ctx context.Context, store Store, now time.Time, batch int, progress func(total int)) (int, error) {
	total := 0
	n, err := DeleteBatches(ctx, func(ctx context.Context, limit int) ([]Record, error) {
		return store.DeleteExpired(ctx, now, limit)
	}, batch, func(removed []Record) {
		if total += len(removed); progress != nil {
			progress(total)
		}
	})
	if err != nil {
		return n, fmt.Errorf("storage: delete expired sessions: %w", err)
	}
	return n, nil
}

// DeleteBatches calls del with batch (DefaultCleanupBatch when batch <= 0)
// until it removes fewer, calling removed after each batch that removed
// any, and returns how many it removed. It stops early when ctx is done.
// DeleteExpired, and the manager's cleanup, use it.
func DeleteBatches(ctx context.Context, del func(ctx context.Context, limit int) ([]Record, error), batch int, removed func([]Record)) (int, error) {
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
