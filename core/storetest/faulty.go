package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
)

// Op names a method of storage.Store, for Faulty's counters.
type Op int

// The operations of storage.Store.
const (
	Find Op = iota
	Create
	Update
	UpdateLocked
	Touch
	Replace
	Delete
	ListUser
	DeleteUser
	DeleteExpired
	DeleteAll
	Ping
	TokenKeys
	numOps
)

var opNames = [numOps]string{"find", "create", "update", "update locked", "touch", "replace", "delete", "list user", "delete user", "delete expired", "delete all", "ping", "token keys"}

func (op Op) String() string { return opNames[op] }

// Faulty wraps a storage.Store for tests: it counts the calls that reach the
// store, and while it is down it fails every call with an error wrapping
// core.ErrUnavailable, as a database that went away would. Use it to check
// that a code path makes no store call, or how it behaves in an outage. It
// is safe for concurrent use.
type Faulty struct {
	next      storage.Store
	down      atomic.Bool
	lose      atomic.Bool
	calls, ok [numOps]atomic.Int64
}

var (
	_ storage.Store    = (*Faulty)(nil)
	_ storage.KeyStore = (*Faulty)(nil)
)

// NewFaulty wraps next, up and with zero counts.
func NewFaulty(next storage.Store) *Faulty { return &Faulty{next: next} }

// Next returns the wrapped store, for reaching it without being counted.
func (f *Faulty) Next() storage.Store { return f.next }

// SetDown makes every later call fail (true) or pass through (false).
func (f *Faulty) SetDown(down bool) { f.down.Store(down) }

// SetLoseAnswers makes every later write (Create, Update, UpdateLocked,
// Replace) reach the store and then fail with an error wrapping
// core.ErrUnavailable (true), as a statement that committed but whose
// answer came after the deadline; or behave normally (false).
func (f *Faulty) SetLoseAnswers(lose bool) { f.lose.Store(lose) }

// Calls returns how many calls of ops were made since the last Reset,
// whatever their outcome; of every operation when ops is empty.
func (f *Faulty) Calls(ops ...Op) int64 { return sum(&f.calls, ops) }

// Succeeded returns how many calls of ops returned no error since the last
// Reset; of every operation when ops is empty.
func (f *Faulty) Succeeded(ops ...Op) int64 { return sum(&f.ok, ops) }

// Reset zeroes the counters.
func (f *Faulty) Reset() {
	for op := range numOps {
		f.calls[op].Store(0)
		f.ok[op].Store(0)
	}
}

func sum(counts *[numOps]atomic.Int64, ops []Op) int64 {
	if len(ops) == 0 {
		ops = []Op{Find, Create, Update, UpdateLocked, Touch, Replace, Delete, DeleteUser, DeleteExpired, Ping}
	}
	var n int64
	for _, op := range ops {
		n += counts[op].Load()
	}
	return n
}

// call counts op and runs it unless the store is down.
func (f *Faulty) call(op Op, run func() error) error {
	f.calls[op].Add(1)
	if f.down.Load() {
		return fmt.Errorf("storetest: %s: %w", op, core.ErrUnavailable)
	}
	err := run()
	if err == nil {
		f.ok[op].Add(1)
	}
	if err == nil && f.lose.Load() && (op == Create || op == Update || op == UpdateLocked || op == Replace) {
		return fmt.Errorf("storetest: %s: answer lost: %w: %w", op, core.ErrUnavailable, context.DeadlineExceeded)
	}
	return err
}

// Find implements storage.Store.
func (f *Faulty) Find(ctx context.Context, id string, now time.Time) (rec storage.Record, found bool, err error) {
	err = f.call(Find, func() (err error) {
		rec, found, err = f.next.Find(ctx, id, now)
		return err
	})
	return rec, found, err
}

// Create implements storage.Store.
func (f *Faulty) Create(ctx context.Context, rec storage.Record) error {
	return f.call(Create, func() error { return f.next.Create(ctx, rec) })
}

// Update implements storage.Store.
func (f *Faulty) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	return f.call(Update, func() error { return f.next.Update(ctx, rec, now) })
}

// Touch implements storage.Store.
func (f *Faulty) Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error {
	return f.call(Touch, func() error { return f.next.Touch(ctx, id, expiresAt, lastSeenAt, now) })
}

// UpdateLocked implements storage.Store.
func (f *Faulty) UpdateLocked(ctx context.Context, id string, now time.Time, change func(storage.Record) (storage.Record, error)) error {
	return f.call(UpdateLocked, func() error { return f.next.UpdateLocked(ctx, id, now, change) })
}

// Replace implements storage.Store.
func (f *Faulty) Replace(ctx context.Context, oldID string, oldVersion int64, rec storage.Record, now time.Time) error {
	return f.call(Replace, func() error { return f.next.Replace(ctx, oldID, oldVersion, rec, now) })
}

// Delete implements storage.Store.
func (f *Faulty) Delete(ctx context.Context, id string) ([]storage.Record, error) {
	return f.removing(Delete, func() ([]storage.Record, error) { return f.next.Delete(ctx, id) })
}

// ListUser implements storage.Store.
func (f *Faulty) ListUser(ctx context.Context, userID string, now time.Time) (recs []storage.Record, err error) {
	err = f.call(ListUser, func() (err error) {
		recs, err = f.next.ListUser(ctx, userID, now)
		return err
	})
	return recs, err
}

// DeleteUser implements storage.Store.
func (f *Faulty) DeleteUser(ctx context.Context, userID, keepID string) ([]storage.Record, error) {
	return f.removing(DeleteUser, func() ([]storage.Record, error) { return f.next.DeleteUser(ctx, userID, keepID) })
}

// DeleteExpired implements storage.Store.
func (f *Faulty) DeleteExpired(ctx context.Context, now time.Time, limit int) ([]storage.Record, error) {
	return f.removing(DeleteExpired, func() ([]storage.Record, error) { return f.next.DeleteExpired(ctx, now, limit) })
}

// DeleteAll implements storage.Store.
func (f *Faulty) DeleteAll(ctx context.Context, limit int) ([]storage.Record, error) {
	return f.removing(DeleteAll, func() ([]storage.Record, error) { return f.next.DeleteAll(ctx, limit) })
}

// removing runs op, a call that returns the records it removed.
func (f *Faulty) removing(op Op, run func() ([]storage.Record, error)) (removed []storage.Record, err error) {
	err = f.call(op, func() (err error) {
		removed, err = run()
		return err
	})
	return removed, err
}

// Ping implements storage.Store.
func (f *Faulty) Ping(ctx context.Context) error {
	return f.call(Ping, func() error { return f.next.Ping(ctx) })
}

// TokenKeys implements storage.KeyStore with the keys of the wrapped store,
// which must keep them.
func (f *Faulty) TokenKeys(ctx context.Context) (keys storage.TokenKeys, err error) {
	err = f.call(TokenKeys, func() (err error) {
		ks, ok := f.next.(storage.KeyStore)
		if !ok {
			return fmt.Errorf("storetest: %T keeps no token keys", f.next)
		}
		keys, err = ks.TokenKeys(ctx)
		return err
	})
	return keys, err
}
