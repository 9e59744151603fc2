package gormstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
)

// Group commit on PostgreSQL. The notify trigger makes every committing
// transaction take a database-wide lock and hold it through its WAL flush,
// so commits of session writes never share a flush. Instead, concurrent
// Updates (and, separately, Creates) of different sessions are written
// together: one statement, one transaction, one flush.
//
// There is no timer and no background goroutine. A caller queues its write;
// if fewer than maxBatches batches are running, it becomes a leader: it
// takes what is queued (at most maxBatchRows writes, never two of one id,
// never an id that a running batch writes), runs the batch's one statement
// and gives every member its result. A leader whose own write is still
// queued leads the next batch too; otherwise it hands its place to a
// queued waiter, so a batch is whatever queued while the ones before it
// ran, and nothing is left queued without a leader to come.
var (
	// maxBatches is how many batches of one kind (updates, creates) run at
	// once. Measured with BenchmarkParallelChange (trigger on, 32 writers,
	// 2 CPUs), 1 beat 2, 4 and 8 by a fifth or more: notifying commits
	// serialize on the notify lock anyway, so a second running batch only
	// splits the queue into smaller batches that flush one after another.
	maxBatches = 1
	// maxBatchRows caps the writes in one batch, and so the time its
	// members wait for each other and the rows one statement locks. With
	// 32 writers batches stay under it; 8 and 16 measured slower, 32 and
	// 64 alike.
	maxBatchRows = 64
	// batching sends Update and Create on PostgreSQL through the
	// batchers. Benchmarks turn it off to compare (see export_test.go).
	batching = true
)

// batches holds a Store's two batchers. Its zero value is ready to use.
type batches struct {
	updates, creates batcher
}

// batched reports whether s sends its Updates and Creates through the
// batchers: on PostgreSQL, unless benchmarks turned batching off.
func (s *Store) batched() bool {
	return batching && s.db.Dialector.Name() == "postgres"
}

// write is one caller's Update or Create, a member of a batch.
type write struct {
	ctx  context.Context
	rec  storage.Record
	now  time.Time     // of an Update: the record must not have expired at now
	wake chan struct{} // a send asks the waiting caller to lead
	done chan struct{} // closed once err holds the write's result
	err  error

	// Under batcher.mu.
	queued     bool // in batcher.queue, not yet in a batch
	designated bool // handed a leader's place, not yet leading
}

// batcher queues the writes of one kind and runs them in batches.
type batcher struct {
	mu    sync.Mutex
	queue []*write
	// slots counts the running leaders and the designated waiters, at most
	// maxBatches. While the queue is not empty, at least one is held.
	slots int
	busy  map[string]bool // ids of the writes in running batches
}

// run is how a batcher writes a batch: one statement with ctx, setting
// every member's err.
type run func(ctx context.Context, batch []*write)

// do writes rec in a batch with exec and returns its result. When ctx ends
// first it returns an error wrapping core.ErrUnavailable and ctx's error,
// naming op; the write then happens or not (it is not started when it was
// still queued). A caller that leads returns once its batch's statement
// has returned, which the latest deadline among the batch's members
// bounds.
func (b *batcher) do(ctx context.Context, op string, rec storage.Record, now time.Time, exec run) error {
	if err := ctx.Err(); err != nil {
		return failed(op, err)
	}
	w := &write{ctx: ctx, rec: rec, now: now, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	w.queued = true
	lead := b.slots < maxBatches
	if lead {
		b.slots++
	}
	b.mu.Unlock()
	if lead {
		b.lead(w, exec)
	}
	for {
		select {
		case <-w.done:
			b.leave(w)
			return w.err
		case <-w.wake:
			b.lead(w, exec)
		case <-ctx.Done():
			b.leave(w)
			return failed(op, ctx.Err())
		}
	}
}

// lead runs batches in a slot that self's caller holds, until the queue
// has nothing to take or self's write has left the queue; then it passes
// the slot on or frees it.
func (b *batcher) lead(self *write, exec run) {
	b.mu.Lock()
	defer b.mu.Unlock()
	self.designated = false
	for {
		batch := b.take()
		if len(batch) == 0 {
			// Whatever is still queued waits for a running batch of its
			// id, whose leader will see it.
			b.slots--
			return
		}
		b.mu.Unlock()
		ctx, cancel := detach(batch)
		exec(ctx, batch)
		cancel()
		b.mu.Lock()
		for _, w := range batch {
			delete(b.busy, w.rec.ID)
			close(w.done)
		}
		if !self.queued {
			b.handoff()
			return
		}
	}
}

// take removes from the queue, in order, the writes of the next batch and
// marks their ids busy. It is called with b.mu held.
func (b *batcher) take() []*write {
	if b.busy == nil {
		b.busy = make(map[string]bool)
	}
	var batch []*write
	rest := b.queue[:0]
	for _, w := range b.queue {
		if len(batch) < maxBatchRows && !b.busy[w.rec.ID] {
			w.queued = false
			b.busy[w.rec.ID] = true
			batch = append(batch, w)
		} else {
			rest = append(rest, w)
		}
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	return batch
}

// handoff passes the slot of a leader that is done to the first queued
// waiter that holds none, or frees it when there is none. It is called
// with b.mu held.
func (b *batcher) handoff() {
	for _, w := range b.queue {
		if !w.designated {
			w.designated = true
			w.wake <- struct{}{} // never full: one send per designation
			return
		}
	}
	b.slots--
}

// leave takes w, whose caller is returning, out of the queue, and passes
// on the slot it was handed and did not use.
func (b *batcher) leave(w *write) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.queued {
		b.queue = slices.DeleteFunc(b.queue, func(q *write) bool { return q == w })
		w.queued = false
	}
	if w.designated {
		w.designated = false
		b.handoff()
	}
}

// detach returns the context of a batch's statement: no member's
// cancellation ends it, and it has the latest of the members' deadlines
// (none if one of them has none). Values come from the first member's.
func detach(batch []*write) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(batch[0].ctx)
	var latest time.Time
	for _, w := range batch {
		d, ok := w.ctx.Deadline()
		if !ok {
			return ctx, func() {}
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

// byID orders a batch's members by id, so that batches lock rows in one
// order and two of them, from this instance or another, cannot deadlock.
func byID(a, b *write) int { return strings.Compare(a.rec.ID, b.rec.ID) }

// pgTime and pgOptTime are t as a batch statement's variable: UTC, to the
// microsecond; pgOptTime gives NULL for the zero time (a nullable column).
// Batches run on PostgreSQL only, whose driver takes a time.Time as it is:
// plain values spare GORM a GormValue call and its allocations per column.
func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func pgOptTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return pgTime(t)
}

// How many statement variables a batch row takes.
const (
	updateVars = 8
	createVars = 12
)

// updateBatch runs the Updates of batch as one UPDATE ... FROM (VALUES
// ...): each row is written only where it is unexpired at its member's now
// and at its member's version, and a member whose row was not written gets
// an error wrapping storage.ErrConflict, as from a single Update.
func (s *Store) updateBatch(ctx context.Context, batch []*write) {
	slices.SortFunc(batch, byID)
	var q strings.Builder
	vars := make([]any, 0, updateVars*len(batch))
	q.WriteString("UPDATE " + tableName + " AS s SET data = v.data, version = s.version + 1, persistent = v.persistent, " +
		"expires_at = v.expires_at, last_seen_at = v.last_seen_at, handle = v.handle FROM (VALUES ")
	for i, w := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?::text, ?::bigint, ?::bytea, ?::boolean, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::text)")
		r := w.rec
		vars = append(vars, r.ID, r.Version, data(r.Data), r.Persistent, pgTime(r.ExpiresAt), pgOptTime(r.LastSeenAt), pgTime(w.now), r.Handle)
	}
	q.WriteString(") AS v(id, version, data, persistent, expires_at, last_seen_at, cutoff, handle) " +
		"WHERE s.id = v.id AND s.version = v.version AND s.expires_at > v.cutoff RETURNING s.id")
	s.deliver(ctx, "update", q.String(), vars, batch, func() error {
		return fmt.Errorf("gormstore: update: %w", storage.ErrConflict)
	})
}

// createBatch runs the Creates of batch as one INSERT ... ON CONFLICT (id)
// DO NOTHING: a member whose id was taken gets the error of a single
// Create's duplicate, which wraps neither storage.ErrConflict nor
// core.ErrUnavailable.
func (s *Store) createBatch(ctx context.Context, batch []*write) {
	slices.SortFunc(batch, byID)
	var q strings.Builder
	vars := make([]any, 0, createVars*len(batch))
	q.WriteString("INSERT INTO " + tableName + " (id, user_id, data, version, persistent, created_at, deadline, expires_at, " +
		"handle, authenticated_at, last_seen_at, ip, user_agent) VALUES ")
	for i, w := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?::text, ?::text, ?::bytea, 1, ?::boolean, ?::timestamptz, ?::timestamptz, ?::timestamptz, " +
			"?::text, ?::timestamptz, ?::timestamptz, ?::text, ?::text)")
		r := w.rec
		vars = append(vars, r.ID, r.UserID, data(r.Data), r.Persistent, pgTime(r.CreatedAt), pgTime(r.Deadline), pgTime(r.ExpiresAt),
			r.Handle, pgOptTime(r.AuthenticatedAt), pgOptTime(r.LastSeenAt), r.IP, r.UserAgent)
	}
	q.WriteString(" ON CONFLICT (id) DO NOTHING RETURNING id")
	s.deliver(ctx, "create", q.String(), vars, batch, func() error {
		return errors.New("gormstore: create: id already taken")
	})
}

// deliver runs the statement q, which returns the ids it wrote, and sets
// the result of every member of batch: nil when its id was returned,
// missed() when not, and the statement's error, as op's, when it failed.
func (s *Store) deliver(ctx context.Context, op, q string, vars []any, batch []*write, missed func() error) {
	written, err := s.returned(ctx, q, vars)
	for _, w := range batch {
		switch {
		case err != nil:
			w.err = failed(op, err)
		case written[w.rec.ID]:
			w.err = nil
		default:
			w.err = missed()
		}
	}
}

// returned runs q and returns the set of ids its rows give.
func (s *Store) returned(ctx context.Context, q string, vars []any) (map[string]bool, error) {
	rows, err := s.db.WithContext(ctx).Raw(q, vars...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make(map[string]bool)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}
