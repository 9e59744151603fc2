package gormstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Migrations holds the schema that Migrate makes as SQL migration files in
// golang-migrate's layout (<version>_<name>.up.sql and .down.sql), under
// migrations/postgres and migrations/sqlite, for teams that migrate with
// their own tool instead of Migrate; with golang-migrate's iofs source:
//
//	src, err := iofs.New(gormstore.Migrations, "migrations/postgres")
//	m, err := migrate.NewWithSourceInstance("iofs", src, databaseURL)
//	err = m.Up()
//
// A database migrated with them is current: Migrate, and Open, then run
// no DDL. Their last version is the one Migrate makes.
//
//go:embed migrations
var Migrations embed.FS

// schemaVersion names the schema Migrate makes: the table hybrid_sessions,
// its indexes and, on PostgreSQL, the notify trigger. It is kept in the
// table hybrid_sessions_schema; bump it with every change of the schema,
// with the new version's files in migrations/ (see Migrations), and
// Migrate runs its DDL once, on the first instance that starts.
// Version 2 made the notify triggers statement-level; version 3 added the
// token keys (keys.go); version 4 the columns a list of a user's sessions
// shows (handle, authenticated_at, last_seen_at, ip, user_agent).
const schemaVersion = 4

// versionTable holds schemaVersion once the schema is current.
const versionTable = "hybrid_sessions_schema"

// migrateLock is the key of the PostgreSQL advisory lock that serializes
// migrations: "hybrid_s" in ASCII.
const migrateLock = 0x6879627269645f73

// Migration's patience on PostgreSQL: each DDL statement waits at most
// migrateLockTimeout for a lock on the table (a statement queued for one
// holds up every session query behind it), and a migration that could not
// get its locks is tried again after a short pause, migrateAttempts times
// in all. Variables, so that tests can shorten them.
var (
	migrateLockTimeout = 50 * time.Millisecond
	migrateAttempts    = 20
)

// Migrate makes the schema current: the table hybrid_sessions and its
// indexes, on PostgreSQL the trigger that announces changes to the other
// app instances (see Invalidations), and the table of token keys, whose
// first key TokenKeys makes at first use. When it adds the key table to a database that
// holds sessions, it notes the time in hybrid_sessions_untagged, so that
// their untagged tokens keep working for one session lifetime.
//
// When the schema is already current, as at every start but the first
// after an upgrade, it only reads the version and changes nothing: it
// takes no lock that could hold up live traffic. Otherwise, on PostgreSQL,
// it migrates in one transaction under an advisory lock, so that any
// number of instances may start at once, and with a lock_timeout of 50 ms
// per statement, so that a long transaction reading the table (a backup, a
// report) makes Migrate wait and try again, up to 20 times, rather than
// queue a lock behind it that would stall every session query. On SQLite
// Migrate also claims the file for this process (see claimSQLite): a
// second process on the same file fails here, naming the file, instead
// of serving sessions the first one changed or logged out. Running it on a
// schema made with the files of Migrations changes nothing. Its errors are not
// core.ErrUnavailable: a failed migration is not a passing outage.
func (s *Store) Migrate(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if db.Dialector.Name() == "sqlite" {
		if err := claimSQLite(db); err != nil {
			return fmt.Errorf("gormstore: migrate: %w", err)
		}
	}
	if current, err := s.current(db); err == nil && current {
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := db.Transaction(s.migrate)
		if err == nil {
			return nil
		}
		if !lockTimedOut(err) || attempt == migrateAttempts || ctx.Err() != nil {
			return fmt.Errorf("gormstore: migrate (attempt %d): %w", attempt, err)
		}
		pause := time.Duration(50+rand.IntN(200)) * time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("gormstore: migrate: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
}

// current reports whether the schema is at schemaVersion, with its
// trigger on PostgreSQL.
func (s *Store) current(db *gorm.DB) (bool, error) {
	if !db.Migrator().HasTable(versionTable) {
		return false, nil
	}
	var version int
	if err := db.Raw("SELECT coalesce(max(version), 0) FROM " + versionTable).Scan(&version).Error; err != nil {
		return false, err
	}
	if version != schemaVersion {
		return false, nil
	}
	if db.Dialector.Name() != "postgres" {
		return true, nil
	}
	var installed bool
	err := db.Raw(triggerInstalledSQL).Scan(&installed).Error
	return installed, err
}

// migrate runs the migration in the transaction tx.
func (s *Store) migrate(tx *gorm.DB) error {
	postgres := tx.Dialector.Name() == "postgres"
	if postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(migrateLock)).Error; err != nil {
			return fmt.Errorf("advisory lock: %w", err)
		}
		// Another instance may have migrated while this one waited.
		if current, err := s.current(tx); err != nil || current {
			return err
		}
		ms := strconv.FormatInt(migrateLockTimeout.Milliseconds(), 10)
		if err := tx.Exec("SET LOCAL lock_timeout = '" + ms + "ms'").Error; err != nil {
			return fmt.Errorf("lock_timeout: %w", err)
		}
	}
	// The version table comes first: notifySQL, a migration file, sets
	// the version too (to its own, rewritten below).
	if err := tx.Exec("CREATE TABLE IF NOT EXISTS " + versionTable + " (version integer NOT NULL)").Error; err != nil {
		return fmt.Errorf("schema version table: %w", err)
	}
	// Sessions from before tagged tokens keep working for one lifetime
	// (see storage.TokenKeys.UntaggedSince): note when the key table came.
	untagged := false
	if !tx.Migrator().HasTable(keysTable) && tx.Migrator().HasTable(tableName) {
		if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM " + tableName + ")").Scan(&untagged).Error; err != nil {
			return fmt.Errorf("sessions from before tagged tokens: %w", err)
		}
	}
	if err := tx.AutoMigrate(&row{}, &keyRow{}, &untaggedRow{}); err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	if untagged {
		if err := tx.Create(&untaggedRow{Since: stamp(time.Now())}).Error; err != nil {
			return fmt.Errorf("sessions from before tagged tokens: %w", err)
		}
	}
	if postgres {
		if err := tx.Exec(notifySQL).Error; err != nil {
			return fmt.Errorf("notify trigger: %w", err)
		}
	}
	for _, q := range []string{
		"DELETE FROM " + versionTable,
		"INSERT INTO " + versionTable + " (version) VALUES (" + strconv.Itoa(schemaVersion) + ")",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	}
	return nil
}

// lockTimedOut reports whether err is PostgreSQL's lock_timeout
// (lock_not_available, 55P03).
func lockTimedOut(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "55P03"
}
