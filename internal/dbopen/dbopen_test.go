package dbopen

import (
	"path/filepath"
	"testing"
)

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":    true,
		"postgresql://h/db":    true,
		"sessions.db":          false,
		"/var/lib/postgres.db": false,
		"file:x.db?mode=rw":    false,
	} {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	for _, tc := range []struct {
		dsn         string
		foreignKeys int // a parameter the DSN may set
	}{
		{path, 0},
		{path + "?_pragma=foreign_keys(1)", 1},
	} {
		if got := SQLitePath(tc.dsn); got != path {
			t.Errorf("SQLitePath(%q) = %q, want %q", tc.dsn, got, path)
		}
		db, err := Open(tc.dsn)
		if err != nil {
			t.Fatalf("Open(%q) error = %v", tc.dsn, err)
		}
		var mode string
		var timeout, foreignKeys int
		db.Raw("PRAGMA journal_mode").Scan(&mode)
		db.Raw("PRAGMA busy_timeout").Scan(&timeout)
		db.Raw("PRAGMA foreign_keys").Scan(&foreignKeys)
		if mode != "wal" || timeout != 5000 || foreignKeys != tc.foreignKeys {
			t.Errorf("Open(%q): journal_mode %q, busy_timeout %d, foreign_keys %d; want wal, 5000, %d",
				tc.dsn, mode, timeout, foreignKeys, tc.foreignKeys)
		}
		sqlDB, _ := db.DB()
		sqlDB.Close()
	}
}
