// Package dbopen opens the database a command-line DSN names, as the
// example apps and gormstore's commands take it: a postgres:// or
// postgresql:// URL is PostgreSQL, anything else the path of an SQLite file.
//
//	db, err := dbopen.Open(dsn) // then gormstore.New(db, gormstore.Options{})
package dbopen

import (
	"fmt"
	"github.com/hybridsession/hybridsession/gormstore"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Defaults of Options: gormstore's (see gormstore.DefaultPostgresMaxConns).
// With 32 concurrent clients on a 2-core machine, 4 SQLite connections
// served a read-mostly load about 1.5 times as fast as 1 and writes as
// fast, while 16 or 64 stretched the slowest writes from about 0.1 s to
// 0.5-1 s.
const (
	DefaultPostgresMaxConns = gormstore.DefaultPostgresMaxConns
	DefaultSQLiteMaxConns   = gormstore.DefaultSQLiteMaxConns
	DefaultConnMaxIdleTime  = gormstore.DefaultConnMaxIdleTime
)

// Options bounds the connection pool of the database OpenWith opens. The
// zero value is the defaults, which Open uses.
type Options struct {
	// MaxConns is the most connections the pool opens
	// (sql.DB.SetMaxOpenConns); queries beyond it wait for a free one, up
	// to their context's deadline. It also keeps that many idle
	// (SetMaxIdleConns), so that a steady load does not close and reopen
	// connections. On PostgreSQL count gormstore's invalidation listener,
	// which holds one connection of the pool while it listens: a pool of 1
	// leaves none for queries. Zero means DefaultPostgresMaxConns or
	// DefaultSQLiteMaxConns; negative is an error.
	MaxConns int
	// ConnMaxIdleTime closes a connection left idle this long
	// (sql.DB.SetConnMaxIdleTime). Zero means DefaultConnMaxIdleTime;
	// negative is an error.
	ConnMaxIdleTime time.Duration
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than
// an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens dsn with GORM: PostgreSQL with gorm.io/driver/postgres, SQLite
// with the pure-Go github.com/glebarez/sqlite (no C toolchain), in WAL mode
// with a five-second busy timeout and write transactions that take their
// lock when they begin, so that concurrent writers wait for each other
// instead of failing. Query parameters given in an SQLite DSN are kept.
// Its pool is bounded by the defaults of Options. GORM's own logging is
// off: errors are returned to the caller. GORM pings the database while
// opening it, so an unreachable PostgreSQL server is an error of Open, and
// an SQLite file that does not exist is created.
func Open(dsn string) (*gorm.DB, error) { return OpenWith(dsn, Options{}) }

// OpenWith is Open with the pool bounded as opts says. It fails, without
// opening anything, when a field of opts is negative.
func OpenWith(dsn string, opts Options) (*gorm.DB, error) {
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("dbopen: MaxConns is %d; want 0 (the default) or more", opts.MaxConns)
	}
	if opts.ConnMaxIdleTime < 0 {
		return nil, fmt.Errorf("dbopen: ConnMaxIdleTime is %v; want 0 (the default) or more", opts.ConnMaxIdleTime)
	}
	cfg := &gorm.Config{Logger: logger.Discard}
	var db *gorm.DB
	var err error
	maxConns := opts.MaxConns
	if IsPostgres(dsn) {
		db, err = gorm.Open(postgres.Open(dsn), cfg)
		if maxConns == 0 {
			maxConns = DefaultPostgresMaxConns
		}
	} else {
		db, err = gorm.Open(sqlite.Open(SQLitePath(dsn)+sqliteParams(dsn)), cfg)
		if maxConns == 0 {
			maxConns = DefaultSQLiteMaxConns
		}
	}
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	idle := opts.ConnMaxIdleTime
	if idle == 0 {
		idle = DefaultConnMaxIdleTime
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(idle)
	return db, nil
}

// SQLitePath returns the file path of an SQLite DSN: dsn without its query
// parameters.
func SQLitePath(dsn string) string {
	path, _, _ := strings.Cut(dsn, "?")
	return path
}

// sqliteParams returns the query of an SQLite DSN with the settings Open
// adds.
func sqliteParams(dsn string) string {
	params := "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	if _, query, ok := strings.Cut(dsn, "?"); ok && query != "" {
		params += "&" + query
	}
	return params
}
