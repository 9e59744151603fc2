package demo

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/dbopen"
)

// Open opens the database cfg names, creates or updates the session table
// and returns a session manager on it, with the function that closes the
// database. The manager caches sessions in process (core's default).
func Open(ctx context.Context, cfg Config) (m *core.Manager, closeDB func() error, err error) {
	db, err := dbopen.OpenWith(cfg.DSN, cfg.DBOptions()) // PostgreSQL for postgres:// URLs, else an SQLite file; a bounded pool
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
