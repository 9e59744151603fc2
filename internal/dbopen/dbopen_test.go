package dbopen_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/internal/dbopen"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":    true,
		"postgresql://h/db":    true,
		"sessions.db":          false,
		"/var/lib/postgres.db": false,
		"file:x.db?mode=rw":    false,
	} {
		if got := dbopen.IsPostgres(dsn); got != want {
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
		if got := dbopen.SQLitePath(tc.dsn); got != path {
			t.Errorf("SQLitePath(%q) = %q, want %q", tc.dsn, got, path)
		}
		db, err := dbopen.Open(tc.dsn)
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

// pool opens dsn with opts and returns its *sql.DB, closed when the test
// ends.
func pool(t *testing.T, dsn string, opts dbopen.Options) *sql.DB {
	t.Helper()
	db, err := dbopen.OpenWith(dsn, opts)
	if err != nil {
		t.Fatalf("OpenWith(%+v) error = %v", opts, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return sqlDB
}

func TestPoolSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := dbopen.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if got := sqlDB.Stats().MaxOpenConnections; got != dbopen.DefaultSQLiteMaxConns {
		t.Errorf("Open(sqlite): MaxOpenConnections = %d, want %d", got, dbopen.DefaultSQLiteMaxConns)
	}
	if got := pool(t, path, dbopen.Options{MaxConns: 3}).Stats().MaxOpenConnections; got != 3 {
		t.Errorf("OpenWith(MaxConns 3): MaxOpenConnections = %d, want 3", got)
	}
	if got := pool(t, testdb.NewPostgres(t), dbopen.Options{}).Stats().MaxOpenConnections; got != dbopen.DefaultPostgresMaxConns {
		t.Errorf("Open(postgres): MaxOpenConnections = %d, want %d", got, dbopen.DefaultPostgresMaxConns)
	}
	for _, opts := range []dbopen.Options{{MaxConns: -1}, {ConnMaxIdleTime: -time.Second}} {
		if _, err := dbopen.OpenWith(path, opts); err == nil {
			t.Errorf("OpenWith(%+v) error = nil, want one", opts)
		}
	}
}

// TestPoolKeepsIdle checks that the pool keeps as many idle connections as
// it may open, and closes them after ConnMaxIdleTime.
func TestPoolKeepsIdle(t *testing.T) {
	const max = 3
	sqlDB := pool(t, filepath.Join(t.TempDir(), "s.db"), dbopen.Options{MaxConns: max, ConnMaxIdleTime: 100 * time.Millisecond})
	hold(t, sqlDB, max)
	if got := sqlDB.Stats().Idle; got != max {
		t.Errorf("after %d concurrent connections, Idle = %d, want %d", max, got, max)
	}
	// database/sql checks idle connections at most once a second.
	deadline := time.Now().Add(5 * time.Second)
	for sqlDB.Stats().Idle > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s := sqlDB.Stats(); s.Idle != 0 || s.MaxIdleTimeClosed != max {
		t.Errorf("after ConnMaxIdleTime: Idle = %d, MaxIdleTimeClosed = %d; want 0, %d", s.Idle, s.MaxIdleTimeClosed, max)
	}
}

// hold takes n connections of db at once, then gives them back.
func hold(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	var conns []*sql.Conn
	for range n {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestPostgresBounded runs many more slow queries at once than the pool
// may open, beside a connection held as gormstore's listener holds one, and
// counts the test database's server connections meanwhile: never more than
// the bound.
func TestPostgresBounded(t *testing.T) {
	const max, queries = 4, 24
	dsn := testdb.NewPostgres(t)
	sqlDB := pool(t, dsn, dbopen.Options{MaxConns: max})
	watcher := pool(t, dsn, dbopen.Options{MaxConns: 1})

	listener, err := sqlDB.Conn(t.Context()) // as gormstore's listener
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		most := 0
		for {
			var n int
			// The watcher's own connection is not counted.
			err := watcher.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
			if err == nil && n > most {
				most = n
			}
			select {
			case <-stop:
				peak <- most
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, queries)
	for range queries {
		wg.Go(func() {
			_, err := sqlDB.ExecContext(ctx, "SELECT pg_sleep(0.1)")
			errs <- err
		})
	}
	wg.Wait()
	close(stop)
	most := <-peak
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("query error = %v", err)
		}
	}
	stats := sqlDB.Stats()
	t.Logf("%d queries on a pool of %d: peak %d server connections, %d waits", queries, max, most, stats.WaitCount)
	if most > max {
		t.Errorf("peak server connections of the pool = %d, want at most %d", most, max)
	}
	if most < max {
		t.Errorf("peak server connections of the pool = %d, want %d (the queries should fill the pool)", most, max)
	}
	if stats.OpenConnections > max || stats.WaitCount == 0 {
		t.Errorf("Stats: OpenConnections %d, WaitCount %d; want at most %d and some waits", stats.OpenConnections, stats.WaitCount, max)
	}
}
