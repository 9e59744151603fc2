package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"gorm.io/gorm"
)

// Pool bounds that Open sets on a pool that has none, and that the
// example apps use.
const (
	// DefaultPostgresMaxConns bounds a PostgreSQL pool: one connection for
	// the invalidation listener, which holds it for as long as it listens,
	// and 15 for the short primary-key statements of sessions. Requests
	// beyond that wait in the pool, within their deadline, instead of
	// becoming PostgreSQL connections.
	DefaultPostgresMaxConns = 16
	// DefaultSQLiteMaxConns bounds an SQLite pool: readers run beside the
	// one writer SQLite admits, but every further connection is one more
	// writer polling the write lock.
	DefaultSQLiteMaxConns = 4
	// DefaultConnMaxIdleTime closes connections unused for this long, so
	// that a pool grown by a burst gives its connections back.
	DefaultConnMaxIdleTime = 5 * time.Minute
	// DefaultCleanupInterval is how often Open's manager deletes expired
	// sessions.
	DefaultCleanupInterval = 5 * time.Minute
)

// Open is the whole setup of the common case in one call. It bounds db's
// connection pool if it has no bound (DefaultPostgresMaxConns or
// DefaultSQLiteMaxConns, as many idle, DefaultConnMaxIdleTime), makes a
// store on it, migrates it (see Migrate) and returns a manager configured
// by cfg whose background work runs until its Close: on PostgreSQL the
// listener that keeps its cache coherent with the other instances, and the
// cleanup of expired sessions every DefaultCleanupInterval, one instance
// at a time.
//
//	m, err := gormstore.Open(ctx, db, core.Config{})
//	defer m.Close()
func Open(ctx context.Context, db *gorm.DB, cfg core.Config) (*core.Manager, error) {
	if db == nil {
		return nil, fmt.Errorf("gormstore: Open with a nil *gorm.DB")
	}
	if sqlDB, err := db.DB(); err == nil && sqlDB.Stats().MaxOpenConnections == 0 {
		n := DefaultSQLiteMaxConns
		if db.Dialector.Name() == "postgres" {
			n = DefaultPostgresMaxConns
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(DefaultConnMaxIdleTime)
	}
	store, err := New(db, Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	m, err := core.NewManager(store, cfg)
	if err != nil {
		return nil, err
	}
	if err := m.Start(DefaultCleanupInterval); err != nil {
		return nil, err
	}
	return m, nil
}
