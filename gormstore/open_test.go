package gormstore_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// Open does the whole setup: it bounds an unbounded pool, migrates, and
// returns a manager whose background work (the listener on PostgreSQL)
// runs until Close, which gives the listener's connection back.
func TestOpen(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			db, _ := testdb.Open(t, kind) // a fresh, empty database
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			sqlDB.SetMaxOpenConns(0) // unbounded, as gorm.Open leaves it
			m, err := gormstore.Open(t.Context(), db, core.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			want := map[testdb.Kind]int{testdb.Postgres: gormstore.DefaultPostgresMaxConns, testdb.SQLite: gormstore.DefaultSQLiteMaxConns}[kind]
			if got := sqlDB.Stats().MaxOpenConnections; got != want {
				t.Errorf("pool bound after Open = %d, want %d", got, want)
			}
			deadline := time.Now().Add(10 * time.Second)
			for m.Stats().Bypassed {
				if time.Now().After(deadline) {
					t.Fatal("Open's manager not listening after 10s")
				}
				time.Sleep(time.Millisecond)
			}
			ck := sessionCookie(t, serve(m, func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				s.Set("n", 7)
			}, nil))
			serve(m, func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				if got := core.GetOr(s, "n", 0); got != 7 {
					t.Errorf("read back %d, want 7", got)
				}
			}, ck)
			if err := m.Start(time.Minute); err == nil {
				t.Error("a second Start succeeded, want an error")
			}
			if err := m.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if kind == testdb.Postgres && !m.Stats().Bypassed {
				t.Error("cache still trusted after Close stopped the listener")
			}
			// A transaction cut short by Close gives its connection back
			// from database/sql's own goroutine, a moment later.
			for deadline := time.Now().Add(2 * time.Second); sqlDB.Stats().InUse != 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections still in use 2s after Close, want 0", sqlDB.Stats().InUse)
				}
			}
		})
	}
}
