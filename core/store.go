package core

import (
	"context"
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
	// Data is the encoded session values (see EncodeValues); nil and empty
	// both mean no values.
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
	// once per LastSeenInterval.
	LastSeenAt time.Time
	// IP and UserAgent are the client's, as of the session's creation or
	// last Login (see Config.ClientIP and Config.IPHashKey).
	IP, UserAgent string
}

// Expired reports whether the record is expired at now.
func (r *Record) Expired(now time.Time) bool { return !now.Before(r.ExpiresAt) }

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

	// Update replaces the record's fields (all but ID and Version), and
	// sets Version to rec.Version+1, only if the
	// stored record exists, has not expired at now and has Version
	// rec.Version. Otherwise it changes nothing and returns ErrConflict.
	// Update never inserts.
	Update(ctx context.Context, rec Record, now time.Time) error

	// Touch sets the ExpiresAt of an existing, unexpired record and moves
	// its LastSeenAt forward to lastSeenAt (never backwards), and changes
	// nothing else, not even Version; it is the cheap write of an idle
	// refresh and of the last-seen time. A missing record is not an error.
	Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error

	// UpdateLocked is the pessimistic Update, for records that optimistic
	// updates keep missing: it reads the unexpired record id while keeping
	// every other writer of it out, passes it to change, and stores what
	// change returns (fields as for Update; Version becomes cur.Version+1),
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

	// Delete removes the record and reports whether there was one to
	// remove, so that of several callers removing it at once exactly one
	// learns it did. A missing record is not an error.
	Delete(ctx context.Context, id string) (deleted bool, err error)

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
