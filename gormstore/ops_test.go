package gormstore_test

import (
	"bytes"
	"errors"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/gorm/logger"
)

// Ping fails when the table is missing, not only when the server is
// unreachable: /healthz must not say "ok" for a store that cannot serve.
func TestPingChecksTheTable(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			store, db := open(t, kind)
			if err := store.Ping(t.Context()); err != nil {
				t.Fatalf("Ping on a migrated database: %v", err)
			}
			if err := db.Exec("DROP TABLE hybrid_sessions").Error; err != nil {
				t.Fatal(err)
			}
			if err := store.Ping(t.Context()); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Ping without the table = %v, want an error wrapping ErrUnavailable", err)
			}
		})
	}
}

// The store's statements never reach GORM's logger, whose lines would
// carry record and user ids, even with a logger that logs every
// statement as slow.
func TestStatementsNotLogged(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			_, db := open(t, kind)
			var out bytes.Buffer
			db.Logger = logger.New(log.New(&out, "", 0), logger.Config{SlowThreshold: time.Nanosecond, LogLevel: logger.Info})
			store, err := gormstore.New(db, gormstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			rec := storage.Record{ID: storage.RecordID("logged?"), UserID: "user-logged", Data: []byte("x"), Version: 1,
				CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
			if err := store.Create(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			if err := store.Update(t.Context(), rec, now); err != nil {
				t.Fatal(err)
			}
			store.Find(t.Context(), rec.ID, now)
			store.DeleteUser(t.Context(), rec.UserID, "")
			if s := out.String(); strings.Contains(s, rec.ID) || strings.Contains(s, rec.UserID) {
				t.Errorf("GORM's logger printed the store's statements:\n%s", s)
			}
		})
	}
}

// Cleanup runs on one instance at a time: while another instance's batch
// holds the cleanup lock, DeleteExpired deletes nothing; once it ends, the
// next call deletes.
func TestOneCleanerAtATime(t *testing.T) {
	store, db := open(t, testdb.Postgres)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 10 {
		rec := storage.Record{ID: storage.RecordID(string(rune('a' + i))), Data: []byte("x"),
			CreatedAt: now.Add(-2 * time.Hour), Deadline: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Hour)}
		if err := store.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	other := db.Begin() // another instance, in the middle of its batch
	var mine bool
	if err := other.Raw("SELECT pg_try_advisory_xact_lock(?)", int64(gormstore.CleanupLock)).Scan(&mine).Error; err != nil || !mine {
		t.Fatalf("take the cleanup lock: %v, %v", mine, err)
	}
	if removed, err := store.DeleteExpired(t.Context(), now, 100); len(removed) != 0 || err != nil {
		t.Errorf("DeleteExpired while another instance cleans = %d, %v; want 0, nil", len(removed), err)
	}
	other.Rollback()
	if removed, err := store.DeleteExpired(t.Context(), now, 100); len(removed) != 10 || err != nil {
		t.Errorf("DeleteExpired once the other is done = %d, %v; want 10, nil", len(removed), err)
	}
}
