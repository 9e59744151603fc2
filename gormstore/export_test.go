package gormstore

import (
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"gorm.io/gorm"
)

// SetListenCheck shortens the listener's connection check for a test and
// returns a function that restores it.
func SetListenCheck(every, timeout time.Duration) (restore func()) {
	oldEvery, oldTimeout := listenCheckEvery, listenCheckTimeout
	listenCheckEvery, listenCheckTimeout = every, timeout
	return func() { listenCheckEvery, listenCheckTimeout = oldEvery, oldTimeout }
}

// SetBatching turns batching of Update and Create on PostgreSQL on or off,
// and sets how many batches of a kind may run at once and how many writes
// one may hold (zero: keep the default). It returns a function that
// restores the defaults.
func SetBatching(on bool, slots, rows int) (restore func()) {
	oldOn, oldSlots, oldRows := batching, maxBatches, maxBatchRows
	batching = on
	if slots > 0 {
		maxBatches = slots
	}
	if rows > 0 {
		maxBatchRows = rows
	}
	return func() { batching, maxBatches, maxBatchRows = oldOn, oldSlots, oldRows }
}

// UpdateBatches returns how many Updates of s are queued and how many are
// in running batches.
func UpdateBatches(s *Store) (queued, running int) { return s.batch.updates.state() }

// CreateBatches returns how many Creates of s are queued and how many are
// in running batches.
func CreateBatches(s *Store) (queued, running int) { return s.batch.creates.state() }

// state returns the number of queued writes and of writes in running
// batches.
func (b *batcher) state() (queued, running int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue), len(b.busy)
}

// CreateV3 inserts rec as a store of schema version 3 would: without the
// columns of version 4.
func CreateV3(db *gorm.DB, rec storage.Record) error {
	r := toRow(rec)
	return db.Omit("handle", "authenticated_at", "last_seen_at", "ip", "user_agent").Create(&r).Error
}

// ListUserSQL is the statement of ListUser, for EXPLAIN.
func ListUserSQL(db *gorm.DB, userID string, now time.Time) string {
	return db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var rows []row
		return listUser(tx, userID, now).Find(&rows)
	})
}
