package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hybridsession/hybridsession/core"
)

// Op names a method of core.Store, for Faulty's counters.
type Op int

// The operations of core.Store.
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

// Faulty wraps a core.Store for tests: it counts the calls that reach the
// store, and while it is down it fails every call with an error wrapping
// core.ErrUnavailable, as a database that went away would. Use it to check
// that a code path makes no store call, or how it behaves in an outage. It
// is safe for concurrent use.
type Faulty struct {
	next      core.Store
	down      atomic.Bool
	lose      atomic.Bool
	calls, ok [numOps]atomic.Int64
}

var (
	_ core.Store    = (*Faulty)(nil)
	_ core.KeyStore = (*Faulty)(nil)
)

// NewFaulty wraps next, up and with zero counts.
func NewFaulty(next core.Store) *Faulty { return &Faulty{next: next} }

// Next returns the wrapped store, for reaching it without being counted.
func (f *Faulty) Next() core.Store { return f.next }

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

// Find implements core.Store.
func (f *Faulty) Find(ctx context.Context, id string, now time.Time) (rec core.Record, found bool, err error) {
	err = f.call(Find, func() (err error) {
		rec, found, err = f.next.Find(ctx, id, now)
		return err
	})
	return rec, found, err
}

// Create implements core.Store.
func (f *Faulty) Create(ctx context.Context, rec core.Record) error {
	return f.call(Create, func() error { return f.next.Create(ctx, rec) })
}

// Update implements core.Store.
func (f *Faulty) Update(ctx context.Context, rec core.Record, now time.Time) error {
	return f.call(Update, func() error { return f.next.Update(ctx, rec, now) })
}

// Touch implements core.Store.
func (f *Faulty) Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error {
	return f.call(Touch, func() error { return f.next.Touch(ctx, id, expiresAt, lastSeenAt, now) })
}

// UpdateLocked implements core.Store.
func (f *Faulty) UpdateLocked(ctx context.Context, id string, now time.Time, change func(core.Record) (core.Record, error)) error {
	return f.call(UpdateLocked, func() error { return f.next.UpdateLocked(ctx, id, now, change) })
}

// Replace implements core.Store.
func (f *Faulty) Replace(ctx context.Context, oldID string, oldVersion int64, rec core.Record, now time.Time) error {
	return f.call(Replace, func() error { return f.next.Replace(ctx, oldID, oldVersion, rec, now) })
}

// Delete implements core.Store.
func (f *Faulty) Delete(ctx context.Context, id string) (deleted bool, err error) {
	err = f.call(Delete, func() (err error) {
		deleted, err = f.next.Delete(ctx, id)
		return err
	})
	return deleted, err
}

// ListUser implements core.Store.
func (f *Faulty) ListUser(ctx context.Context, userID string, now time.Time) (recs []core.Record, err error) {
	err = f.call(ListUser, func() (err error) {
		recs, err = f.next.ListUser(ctx, userID, now)
		return err
	})
	return recs, err
}

// DeleteUser implements core.Store.
func (f *Faulty) DeleteUser(ctx context.Context, userID, keepID string) ([]core.Record, error) {
	return f.removing(DeleteUser, func() ([]core.Record, error) { return f.next.DeleteUser(ctx, userID, keepID) })
}

// DeleteExpired implements core.Store.
func (f *Faulty) DeleteExpired(ctx context.Context, now time.Time, limit int) ([]core.Record, error) {
	return f.removing(DeleteExpired, func() ([]core.Record, error) { return f.next.DeleteExpired(ctx, now, limit) })
}

// DeleteAll implements core.Store.
func (f *Faulty) DeleteAll(ctx context.Context, limit int) ([]core.Record, error) {
	return f.removing(DeleteAll, func() ([]core.Record, error) { return f.next.DeleteAll(ctx, limit) })
}

// removing runs op, a call that returns the records it removed.
func (f *Faulty) removing(op Op, run func() ([]core.Record, error)) (removed []core.Record, err error) {
	err = f.call(op, func() (err error) {
		removed, err = run()
		return err
	})
	return removed, err
}

// Ping implements core.Store.
func (f *Faulty) Ping(ctx context.Context) error {
	return f.call(Ping, func() error { return f.next.Ping(ctx) })
}

// TokenKeys implements core.KeyStore with the keys of the wrapped store,
// which must keep them.
func (f *Faulty) TokenKeys(ctx context.Context) (keys core.TokenKeys, err error) {
	err = f.call(TokenKeys, func() (err error) {
		ks, ok := f.next.(core.KeyStore)
		if !ok {
			return fmt.Errorf("storetest: %T keeps no token keys", f.next)
		}
		keys, err = ks.TokenKeys(ctx)
		return err
	})
	return keys, err
}
