package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/gorm"
)

// batchRecord returns a new record, live for an hour from now.
func batchRecord(name string, now time.Time) storage.Record {
	return storage.Record{
		ID: storage.RecordID(name), UserID: "user-" + name, Data: []byte("v1 " + name),
		CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
	}
}

// statements counts the batch statements run on db and the writes they
// carry.
type statements struct {
	updates, updateRows, inserts, insertRows atomic.Int64
}

// countBatchStatements counts the batch statements of every store on db.
func countBatchStatements(t *testing.T, db *gorm.DB) *statements {
	t.Helper()
	c := &statements{}
	err := db.Callback().Row().After("gorm:row").Register("batch_test:count", func(tx *gorm.DB) {
		switch q := tx.Statement.SQL.String(); {
		case strings.HasPrefix(q, "UPDATE hybrid_sessions AS s"):
			c.updates.Add(1)
			c.updateRows.Add(int64(strings.Count(q, "::bytea"))) // one data value per row
		case strings.HasPrefix(q, "INSERT INTO hybrid_sessions"):
			c.inserts.Add(1)
			c.insertRows.Add(int64(strings.Count(q, "::bytea")))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitUntil polls cond until it holds, failing the test after 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// lockRows begins a transaction on db that holds the row locks of ids
// until the returned function commits it.
func lockRows(t *testing.T, db *gorm.DB, ids ...string) (release func()) {
	t.Helper()
	tx := db.WithContext(t.Context()).Begin()
	var locked []string
	if err := tx.Raw("SELECT id FROM hybrid_sessions WHERE id IN ? FOR UPDATE", ids).Scan(&locked).Error; err != nil || len(locked) != len(ids) {
		t.Fatalf("lock %d rows: locked %d, error %v", len(ids), len(locked), err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Commit().Error; err != nil {
				t.Errorf("release locks: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// Concurrent Updates of different sessions are batched, and every one
// lands exactly once, or fails with ErrConflict at a stale version.
func TestBatchedUpdates(t *testing.T) {
	store, db := open(t, testdb.Postgres)
	count := countBatchStatements(t, db)
	now := time.Now()
	const sessions, rounds = 64, 20
	recs := make([]storage.Record, sessions)
	for i := range recs {
		recs[i] = batchRecord(fmt.Sprint("update-", i), now)
		if err := store.Create(t.Context(), recs[i]); err != nil {
			t.Fatal(err)
		}
		recs[i].Version = 1
	}
	stale := func(i int) bool { return i%4 == 0 } // these keep writing version 0

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() {
			<-start
			rec := recs[i]
			for n := range rounds {
				next := rec
				next.Data = fmt.Appendf(nil, "round %d of %d", n, i)
				if stale(i) {
					next.Version = 0
				}
				err := store.Update(t.Context(), next, time.Now())
				switch {
				case stale(i):
					if !errors.Is(err, storage.ErrConflict) || errors.Is(err, core.ErrUnavailable) {
						t.Errorf("Update %d at a stale version error = %v, want ErrConflict", i, err)
					}
				case err != nil:
					t.Errorf("Update %d round %d error = %v", i, n, err)
				default:
					rec = next
					rec.Version++
				}
			}
		})
	}
	close(start)
	wg.Wait()

	for i, rec := range recs {
		got, found, err := store.Find(t.Context(), rec.ID, time.Now())
		wantVersion, wantData := int64(1+rounds), fmt.Sprintf("round %d of %d", rounds-1, i)
		if stale(i) {
			wantVersion, wantData = 1, string(rec.Data)
		}
		if err != nil || !found || got.Version != wantVersion || string(got.Data) != wantData || got.UserID != rec.UserID {
			t.Errorf("session %d = version %d, data %q, user %q (found %v, error %v); want version %d, data %q, user %q",
				i, got.Version, got.Data, got.UserID, found, err, wantVersion, wantData, rec.UserID)
		}
	}
	writes := int64(sessions * rounds)
	if got := count.updateRows.Load(); got != writes {
		t.Errorf("batches carried %d updates, want %d", got, writes)
	}
	t.Logf("%d updates in %d statements", writes, count.updates.Load())
	if got := count.updates.Load(); got >= writes {
		t.Errorf("%d updates took %d statements: no batching", writes, got)
	}
}

// Writes that queue while the running batches are held up go together in
// the next statement: here the 62 that queue behind two blocked leaders.
func TestBatchingUnderConcurrency(t *testing.T) {
	t.Cleanup(gormstore.SetBatching(true, 2, 64))
	store, db := open(t, testdb.Postgres)
	now := time.Now()
	recs := make([]storage.Record, 64)
	ids := make([]string, len(recs))
	for i := range recs {
		recs[i] = batchRecord(fmt.Sprint("queue-", i), now)
		if err := store.Create(t.Context(), recs[i]); err != nil {
			t.Fatal(err)
		}
		recs[i].Version = 1
		ids[i] = recs[i].ID
	}
	count := countBatchStatements(t, db)
	release := lockRows(t, db, ids...)
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() { errs[i] = store.Update(t.Context(), recs[i], now) })
	}
	waitUntil(t, "all updates are queued or running", func() bool {
		queued, running := gormstore.UpdateBatches(store)
		return queued+running == len(recs)
	})
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d error = %v", i, err)
		}
	}
	// Two leaders of one write each, then at most two batches of the 62
	// (the first of them may start before the last write queues).
	if got := count.updates.Load(); got > 4 {
		t.Errorf("64 updates took %d statements, want at most 4", got)
	}
	t.Logf("64 updates in %d statements", count.updates.Load())
}

// A batch of Creates inserts every free id, and a taken one fails as a
// duplicate does: not ErrConflict, not ErrUnavailable, nothing changed.
func TestBatchedCreates(t *testing.T) {
	t.Cleanup(gormstore.SetBatching(true, 1, 0))
	store, db := open(t, testdb.Postgres)
	now := time.Now()
	taken := batchRecord("taken", now)
	if err := store.Create(t.Context(), taken); err != nil {
		t.Fatal(err)
	}
	count := countBatchStatements(t, db)

	// An uncommitted insert of the first Create's id holds up its batch
	// while the others queue behind it.
	blocker := batchRecord("blocker", now)
	tx := db.WithContext(t.Context()).Begin()
	t.Cleanup(func() { tx.Rollback() })
	if err := tx.Exec("INSERT INTO hybrid_sessions (id, user_id, data, version, persistent, created_at, deadline, expires_at) VALUES (?, '', '', 1, false, now(), now(), now())", blocker.ID).Error; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var blockerErr error
	wg.Go(func() { blockerErr = store.Create(t.Context(), blocker) })
	waitUntil(t, "the first Create runs", func() bool { _, running := gormstore.CreateBatches(store); return running == 1 })

	recs := make([]storage.Record, 32)
	errs := make([]error, len(recs))
	for i := range recs {
		recs[i] = batchRecord(fmt.Sprint("create-", i), now)
	}
	recs[17] = taken
	recs[17].Data = []byte("must not be written")
	for i := range recs {
		wg.Go(func() { errs[i] = store.Create(t.Context(), recs[i]) })
	}
	waitUntil(t, "the other Creates queue", func() bool { queued, _ := gormstore.CreateBatches(store); return queued == len(recs) })
	tx.Rollback()
	wg.Wait()

	if blockerErr != nil {
		t.Errorf("Create of the id an aborted insert held error = %v", blockerErr)
	}
	for i, err := range errs {
		if i == 17 {
			if err == nil || errors.Is(err, storage.ErrConflict) || errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Create of a taken id error = %v, want one wrapping neither ErrConflict nor ErrUnavailable", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Create %d error = %v", i, err)
		}
		got, found, err := store.Find(t.Context(), recs[i].ID, now)
		if err != nil || !found || got.Version != 1 || string(got.Data) != string(recs[i].Data) {
			t.Errorf("Find %d = version %d, data %q (found %v, error %v); want version 1, data %q", i, got.Version, got.Data, found, err, recs[i].Data)
		}
	}
	got, _, _ := store.Find(t.Context(), taken.ID, now)
	if string(got.Data) != string(taken.Data) || got.Version != 1 {
		t.Errorf("taken record = version %d, data %q; want it unchanged", got.Version, got.Data)
	}
	if n, rows := count.inserts.Load(), count.insertRows.Load(); n != 2 || rows != 33 {
		t.Errorf("33 Creates in %d statements of %d rows, want 2 (the blocked one, then the other 32)", n, rows)
	}
}

// A member whose context ends while its batch runs returns at once, with
// ErrUnavailable and the context's error; the batch goes on and the others
// get their results, a cancelled leader included.
func TestBatchMemberCancelled(t *testing.T) {
	t.Cleanup(gormstore.SetBatching(true, 1, 0))
	store, db := open(t, testdb.Postgres)
	now := time.Now()
	recs := make([]storage.Record, 11)
	for i := range recs {
		recs[i] = batchRecord(fmt.Sprint("cancel-", i), now)
		if err := store.Create(t.Context(), recs[i]); err != nil {
			t.Fatal(err)
		}
		recs[i].Version = 1
	}
	ids := make([]string, len(recs)-1)
	for i := range ids {
		ids[i] = recs[i+1].ID
	}
	releaseFirst := lockRows(t, db, recs[0].ID)
	releaseRest := lockRows(t, db, ids...)

	// recs[0] leads alone and waits for its lock; the rest queue in
	// order, so that recs[1] leads their batch.
	results := make([]chan error, len(recs))
	cancels := make([]context.CancelFunc, len(recs))
	for i := range recs {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cancels[i], results[i] = cancel, make(chan error, 1)
		go func() { results[i] <- store.Update(ctx, recs[i], now) }()
		waitUntil(t, fmt.Sprint("update ", i, " is queued"), func() bool {
			queued, running := gormstore.UpdateBatches(store)
			return queued+running == i+1
		})
	}
	releaseFirst()
	waitUntil(t, "the batch of the other ten runs", func() bool {
		queued, running := gormstore.UpdateBatches(store)
		return queued == 0 && running == 10
	})

	cancels[1]() // the leader: it waits for the statement
	cancels[5]()
	errs := make([]error, len(recs))
	select {
	case errs[5] = <-results[5]:
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled member still waits for its batch")
	}
	releaseRest()
	for i := range recs {
		if i != 5 {
			errs[i] = <-results[i]
		}
	}

	if err := errs[5]; !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled member's error = %v, want ErrUnavailable and context.Canceled", err)
	}
	for i, err := range errs {
		if i != 1 && i != 5 && err != nil {
			t.Errorf("Update %d error = %v, want nil", i, err)
		}
	}
	if err := errs[1]; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled leader's error = %v, want nil or context.Canceled", err)
	}
	for i, rec := range recs { // the batch was not cancelled
		if got, _, err := store.Find(t.Context(), rec.ID, now); err != nil || got.Version != 2 {
			t.Errorf("session %d at version %d (error %v), want 2", i, got.Version, err)
		}
	}
}
