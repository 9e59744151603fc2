// Package dbopen opens the database a command-line DSN names, as the
// example apps and gormstore's commands take it: a postgres:// or
// postgresql:// URL is PostgreSQL, anything else the path of an SQLite file.
//
//	db, err := dbopen.Open(dsn) // then gormstore.New(db, gormstore.Options{})
package dbopen

import (
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

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
// GORM's own logging is off: errors are returned to the caller. It connects
// lazily, so a wrong DSN shows at the first query; an SQLite file that does
// not exist is created then.
func Open(dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard}
	if IsPostgres(dsn) {
		return gorm.Open(postgres.Open(dsn), cfg)
	}
	return gorm.Open(sqlite.Open(SQLitePath(dsn)+sqliteParams(dsn)), cfg)
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
