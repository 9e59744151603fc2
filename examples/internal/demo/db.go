package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
)

// IsPostgres reports whether dsn names a PostgreSQL database rather than an
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenDB opens dsn with GORM: a postgres:// or postgresql:// URL with
// gorm.io/driver/postgres, anything else as an SQLite file with the pure-Go
// github.com/glebarez/sqlite (no C toolchain), in WAL mode with a busy
// timeout so that concurrent requests wait for each other instead of
// failing. GORM's own logging is off: errors reach the session layer. It
// connects lazily, so a wrong DSN shows at the first query.
func OpenDB(dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard}
	if IsPostgres(dsn) {
		return gorm.Open(postgres.Open(dsn), cfg)
	}
	return gorm.Open(sqlite.Open(sqliteDSN(dsn)), cfg)
}

// sqliteDSN adds the connection settings the apps need to an SQLite path,
// keeping any query parameters the user gave. Write transactions take the
// lock when they begin (_txlock=immediate), so that two of them wait on
// busy_timeout instead of failing to upgrade a read lock.
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// Open opens the database cfg names, creates or updates the session table
// and returns a session manager on it, with the function that closes the
// database. The manager caches sessions in process (core's default).
func Open(ctx context.Context, cfg Config) (m *core.Manager, closeDB func() error, err error) {
	db, err := OpenDB(cfg.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if err != nil {
			sqlDB.Close()
		}
	}()
	m, err = NewManager(ctx, db, cfg.ManagerConfig())
	if err != nil {
		return nil, nil, err
	}
	return m, sqlDB.Close, nil
}

// NewManager makes a gormstore on db, migrates it and returns a session
// manager with mcfg. Tests use it to build an app on a database of their
// own.
func NewManager(ctx context.Context, db *gorm.DB, mcfg core.Config) (*core.Manager, error) {
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate session table: %w", err)
	}
	m, err := core.NewManager(store, mcfg)
	if err != nil {
		return nil, fmt.Errorf("session manager: %w", err)
	}
	return m, nil
}
