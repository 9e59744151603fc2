package gormstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// captured is a slog.Handler that keeps the records it is given.
type captured struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *captured) Enabled(context.Context, slog.Level) bool { return true }
func (h *captured) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captured) WithGroup(string) slog.Handler            { return h }
func (h *captured) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

// warnings returns the messages of the records at level Warn.
func (h *captured) warnings() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var msgs []string
	for _, r := range h.records {
		if r.Level == slog.LevelWarn {
			msgs = append(msgs, r.Message)
		}
	}
	return msgs
}

// unbounded opens an SQLite file with GORM as its documentation shows,
// leaving the pool as database/sql makes it: without a bound.
func unbounded(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "s.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func TestNewWarnsOfUnboundedPool(t *testing.T) {
	h := &captured{}
	if _, err := gormstore.New(unbounded(t), gormstore.Options{Logger: slog.New(h)}); err != nil {
		t.Fatal(err)
	}
	got := h.warnings()
	if len(got) != 1 || !strings.Contains(got[0], "unbounded") || !strings.Contains(got[0], "sqlDB.SetMaxOpenConns") {
		t.Fatalf("warnings = %q, want one naming the unbounded pool and sqlDB.SetMaxOpenConns", got)
	}

	// Bounded: nothing to say.
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			h := &captured{}
			db, _ := testdb.Open(t, kind) // dbopen's bounded pool
			if _, err := gormstore.New(db, gormstore.Options{Logger: slog.New(h)}); err != nil {
				t.Fatal(err)
			}
			if got := h.warnings(); len(got) != 0 {
				t.Errorf("warnings on a bounded %s pool = %q, want none", kind, got)
			}
		})
	}
	t.Run("set by hand", func(t *testing.T) {
		h := &captured{}
		db := unbounded(t)
		sqlDB, _ := db.DB()
		sqlDB.SetMaxOpenConns(8)
		if _, err := gormstore.New(db, gormstore.Options{Logger: slog.New(h)}); err != nil {
			t.Fatal(err)
		}
		if got := h.warnings(); len(got) != 0 {
			t.Errorf("warnings after SetMaxOpenConns(8) = %q, want none", got)
		}
	})
	t.Run("transaction", func(t *testing.T) {
		// Judged by the pool it came from.
		for _, bounded := range []bool{false, true} {
			h := &captured{}
			db := unbounded(t)
			if bounded {
				sqlDB, _ := db.DB()
				sqlDB.SetMaxOpenConns(8)
			}
			tx := db.Begin()
			if _, err := gormstore.New(tx, gormstore.Options{Logger: slog.New(h)}); err != nil {
				t.Fatal(err)
			}
			tx.Rollback()
			want := 1
			if bounded {
				want = 0
			}
			if got := len(h.warnings()); got != want {
				t.Errorf("bounded %v: %d warnings on a transaction of the pool, want %d", bounded, got, want)
			}
		}
	})
}

// Not parallel: it swaps the default logger.
func TestNewWarnsOnTheDefaultLogger(t *testing.T) {
	h := &captured{}
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(old)
	if _, err := gormstore.New(unbounded(t), gormstore.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := h.warnings(); len(got) != 1 || !strings.Contains(got[0], "sqlDB.SetMaxOpenConns") {
		t.Errorf("warnings on slog.Default() = %q, want one naming sqlDB.SetMaxOpenConns", got)
	}
}

// TestFullPoolIsUnavailable checks that a store call that finds every
// connection of a bounded pool busy waits within its deadline, then fails
// with core.ErrUnavailable (a 503), as any store failure does.
func TestFullPoolIsUnavailable(t *testing.T) {
	db := unbounded(t)
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1)
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	held, err := sqlDB.Conn(t.Context()) // the only connection
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = store.Find(ctx, "x", time.Now())
	if !errors.Is(err, core.ErrUnavailable) || core.StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("Find on a full pool error = %v (status %d), want core.ErrUnavailable (503)", err, core.StatusCode(err))
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("Find on a full pool failed after %v, want it to wait for its deadline", waited)
	}
	if s := sqlDB.Stats(); s.OpenConnections != 1 || s.WaitCount == 0 {
		t.Errorf("Stats: OpenConnections %d, WaitCount %d; want 1 and a wait", s.OpenConnections, s.WaitCount)
	}
}
