package gormstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Options configures a Store. The zero value is the defaults.
type Options struct {
	// Logger receives New's warning about an unbounded connection pool.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Store is a storage.Store on a GORM database. It is safe for concurrent use.
// Every method runs its queries with the caller's context, and every
// failure of the database wraps core.ErrUnavailable.
type Store struct {
	db    *gorm.DB
	batch batches // of Update and Create on PostgreSQL (batch.go)
}

var _ storage.Store = (*Store)(nil)

// New returns a store on db, which must be a PostgreSQL or SQLite
// database. It does no I/O: call Migrate to create the table, or create it
// with the migration files of Migrations (the directory migrations).
func New(db *gorm.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("gormstore: New with a nil *gorm.DB")
	}
	switch name := db.Dialector.Name(); name {
	case "postgres", "sqlite":
	default:
		return nil, fmt.Errorf("gormstore: unsupported database %q; use PostgreSQL or SQLite", name)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// Unbounded, every request waiting on the database (a lock, a slow
	// disk) opens one more connection, until max_connections runs out.
	// On a transaction db.DB() is the pool the transaction came from.
	if sqlDB, err := db.DB(); err == nil && sqlDB.Stats().MaxOpenConnections == 0 {
		log.Warn("gormstore: the database connection pool is unbounded; bound it with sqlDB.SetMaxOpenConns (sqlDB from db.DB()), counting one connection for the invalidation listener on PostgreSQL",
			"database", db.Dialector.Name())
	}
	// Every write is one statement, or Replace's own transaction: GORM's
	// implicit transaction around each would only add round trips. GORM's
	// logger stays quiet for the store's statements, whose parameters are
	// record and user ids: errors come back to the caller instead.
	return &Store{db: db.Session(&gorm.Session{SkipDefaultTransaction: true, Logger: logger.Discard})}, nil
}

// Find implements storage.Store: it returns the record id unless it is
// missing or expired at now.
func (s *Store) Find(ctx context.Context, id string, now time.Time) (storage.Record, bool, error) {
	var r row
	res := s.db.WithContext(ctx).Where("id = ? AND expires_at > ?", id, stamp(now)).Limit(1).Find(&r)
	if res.Error != nil {
		return storage.Record{}, false, failed("find", res.Error)
	}
	if res.RowsAffected == 0 {
		return storage.Record{}, false, nil
	}
	return r.record(), true, nil
}

// Create implements storage.Store: it inserts rec with Version 1, and fails
// without changing anything when its id is taken. On PostgreSQL concurrent
// Creates are inserted together, by one statement (see batch.go).
func (s *Store) Create(ctx context.Context, rec storage.Record) error {
	if s.batched() {
		return s.batch.creates.do(ctx, "create", rec, time.Time{}, s.createBatch)
	}
	return s.create(s.db.WithContext(ctx), "create", rec)
}

// create inserts rec through db, reporting failures as op.
func (s *Store) create(db *gorm.DB, op string, rec storage.Record) error {
	r := toRow(rec)
	err := db.Create(&r).Error
	switch {
	case err == nil:
		return nil
	case s.duplicate(err):
		// Not an outage: retrying will not help.
		return fmt.Errorf("gormstore: %s: id already taken: %w", op, err)
	default:
		return failed(op, err)
	}
}

// duplicate reports whether err is a violation of the primary key.
func (s *Store) duplicate(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) { // gorm.Config.TranslateError
		return true
	}
	t, ok := s.db.Dialector.(gorm.ErrorTranslator)
	return ok && errors.Is(t.Translate(err), gorm.ErrDuplicatedKey)
}

// Update implements storage.Store with one conditional UPDATE: it succeeds
// only on the unexpired record id at version rec.Version, and otherwise
// returns an error wrapping storage.ErrConflict. On PostgreSQL concurrent
// Updates of different records are written together, by one statement
// (see batch.go).
func (s *Store) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	if s.batched() {
		return s.batch.updates.do(ctx, "update", rec, now, s.updateBatch)
	}
	return s.updateIn(s.db.WithContext(ctx), "update", rec, now)
}

// Touch implements storage.Store: it sets expires_at of the unexpired record
// id, moves last_seen_at forward, and changes nothing else. A missing or
// expired record is left alone.
func (s *Store) Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error {
	seen := stamp(lastSeenAt)
	err := s.db.WithContext(ctx).Model(&row{}).
		Where("id = ? AND expires_at > ?", id, stamp(now)).
		Updates(map[string]any{
			"expires_at":   stamp(expiresAt),
			"last_seen_at": gorm.Expr("CASE WHEN last_seen_at IS NULL OR last_seen_at < ? THEN ? ELSE last_seen_at END", seen, seen),
		}).Error
	if err != nil {
		return failed("touch", err)
	}
	return nil
}

// UpdateLocked implements storage.Store: in one transaction it reads the
// unexpired record id with SELECT ... FOR UPDATE (on SQLite the
// transaction's write lock, which dbopen takes at BEGIN, does the same),
// calls change and writes its result. A missing or expired record is an
// error wrapping storage.ErrConflict.
func (s *Store) UpdateLocked(ctx context.Context, id string, now time.Time, change func(storage.Record) (storage.Record, error)) error {
	var err error // of the statements or change; Transaction's own is of BEGIN or COMMIT
	txErr := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err = s.updateLocked(tx, id, now, change)
		return err
	})
	if err == nil && txErr != nil {
		err = failed("update locked", txErr)
	}
	return err
}

func (s *Store) updateLocked(tx *gorm.DB, id string, now time.Time, change func(storage.Record) (storage.Record, error)) error {
	var cur row
	res := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("id = ? AND expires_at > ?", id, stamp(now)).Limit(1).Find(&cur)
	if res.Error != nil {
		return failed("update locked", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: update locked: %w", storage.ErrConflict)
	}
	rec, err := change(cur.record())
	if err != nil {
		return err
	}
	rec.ID, rec.Version = id, cur.Version
	return s.updateIn(tx, "update locked", rec, now)
}

// updateIn runs the conditional UPDATE of rec through db, reporting
// failures as op: it writes only the unexpired record at rec.Version.
func (s *Store) updateIn(db *gorm.DB, op string, rec storage.Record, now time.Time) error {
	r := toRow(rec)
	res := db.Model(&row{}).
		Where("id = ? AND version = ? AND expires_at > ?", rec.ID, rec.Version, stamp(now)).
		Updates(map[string]any{ // what a session changes between logins
			"data":         r.Data,
			"version":      gorm.Expr("version + 1"),
			"persistent":   r.Persistent,
			"expires_at":   r.ExpiresAt,
			"last_seen_at": r.LastSeenAt,
			"handle":       r.Handle,
		})
	if res.Error != nil {
		return failed(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: %s: %w", op, storage.ErrConflict)
	}
	return nil
}

// Replace implements storage.Store: in one transaction it deletes the
// unexpired record oldID at version oldVersion and inserts rec. When oldID
// is missing, expired or at another version it returns an error wrapping
// storage.ErrConflict; when rec's id is taken, an error. Either way nothing
// changes.
func (s *Store) Replace(ctx context.Context, oldID string, oldVersion int64, rec storage.Record, now time.Time) error {
	var err error // of the statements; Transaction's own is of BEGIN or COMMIT
	txErr := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err = s.replace(tx, oldID, oldVersion, rec, now)
		return err
	})
	if err == nil && txErr != nil {
		err = failed("replace", txErr)
	}
	return err
}

func (s *Store) replace(tx *gorm.DB, oldID string, oldVersion int64, rec storage.Record, now time.Time) error {
	res := tx.Where("id = ? AND version = ? AND expires_at > ?", oldID, oldVersion, stamp(now)).Delete(&row{})
	if res.Error != nil {
		return failed("replace", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: replace: %w", storage.ErrConflict)
	}
	return s.create(tx, "replace", rec)
}

// Delete implements storage.Store: one DELETE ... RETURNING. A missing
// record is not an error.
func (s *Store) Delete(ctx context.Context, id string) ([]storage.Record, error) {
	var deleted []row
	if err := s.db.WithContext(ctx).Clauses(removedColumns).Where("id = ?", id).Delete(&deleted).Error; err != nil {
		return nil, failed("delete", err)
	}
	return removed(deleted), nil
}

// listColumns are the columns of a list of sessions: all but data.
var listColumns = []string{"id", "user_id", "version", "persistent", "created_at", "deadline", "expires_at",
	"handle", "authenticated_at", "last_seen_at", "ip", "user_agent"}

// ListUser implements storage.Store: one query on the user_id index.
func (s *Store) ListUser(ctx context.Context, userID string, now time.Time) ([]storage.Record, error) {
	var rows []row
	err := listUser(s.db.WithContext(ctx), userID, now).Find(&rows).Error
	if err != nil {
		return nil, failed("list user", err)
	}
	recs := make([]storage.Record, len(rows))
	for i, r := range rows {
		recs[i] = r.record()
		recs[i].Data = nil
	}
	return recs, nil
}

// listUser is the query of ListUser.
func listUser(db *gorm.DB, userID string, now time.Time) *gorm.DB {
	return db.Select(listColumns).Where("user_id = ? AND expires_at > ?", userID, stamp(now))
}

// removedColumns are what a removal returns of each record.
var removedColumns = clause.Returning{Columns: []clause.Column{{Name: "id"}, {Name: "user_id"}, {Name: "handle"}}}

// removed returns the records of deleted rows.
func removed(rows []row) []storage.Record {
	recs := make([]storage.Record, len(rows))
	for i, r := range rows {
		recs[i] = storage.Record{ID: r.ID, UserID: r.UserID, Handle: r.Handle}
	}
	return recs
}

// DeleteUser implements storage.Store: one DELETE ... RETURNING removes every
// record of userID but keepID, expired ones included.
func (s *Store) DeleteUser(ctx context.Context, userID, keepID string) ([]storage.Record, error) {
	var deleted []row
	err := s.db.WithContext(ctx).Clauses(removedColumns).
		Where("user_id = ? AND id <> ?", userID, keepID).
		Delete(&deleted).Error
	if err != nil {
		return nil, failed("delete user", err)
	}
	return removed(deleted), nil
}

// DeleteAll implements storage.Store: one DELETE ... RETURNING removes at
// most limit records.
func (s *Store) DeleteAll(ctx context.Context, limit int) ([]storage.Record, error) {
	deleted, err := s.deleteReturning(s.db.WithContext(ctx), "1 = 1", limit)
	if err != nil {
		return nil, failed("delete all", err)
	}
	return deleted, nil
}

// deleteReturning deletes at most limit rows matching where (a condition
// with its vars) and returns them.
func (s *Store) deleteReturning(db *gorm.DB, where string, limit int, vars ...any) ([]storage.Record, error) {
	var deleted []row
	err := db.Clauses(removedColumns).
		Where("id IN (?)", db.Session(&gorm.Session{NewDB: true}).Model(&row{}).Select("id").Where(where, vars...).Limit(limit)).
		Delete(&deleted).Error
	return removed(deleted), err
}

// DeleteExpired implements storage.Store: one DELETE removes at most limit
// records that expired at or before now. The expires_at index finds them.
// On PostgreSQL, where several instances share the table, it deletes
// nothing and returns 0 while another instance's batch runs: one cleaner
// at a time, and an instance that goes away hands over at once.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) ([]storage.Record, error) {
	if s.db.Dialector.Name() != "postgres" {
		return s.deleteExpired(s.db.WithContext(ctx), now, limit)
	}
	// One cleaner at a time across instances: a batch runs under a
	// transaction-scoped advisory lock, and an instance that does not get
	// it deletes nothing this time (the other is on it).
	var deleted []storage.Record
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var mine bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", int64(cleanupLock)).Scan(&mine).Error; err != nil {
			return failed("delete expired: lock", err)
		}
		if !mine {
			return nil
		}
		var err error
		deleted, err = s.deleteExpired(tx, now, limit)
		return err
	})
	if err != nil {
		// A batch whose COMMIT failed deleted nothing.
		if !errors.Is(err, core.ErrUnavailable) {
			err = failed("delete expired", err) // of BEGIN or COMMIT
		}
		return nil, err
	}
	return deleted, nil
}

// cleanupLock is the key of the advisory lock of a cleanup batch on
// PostgreSQL: "hybrid_c" in ASCII.
const cleanupLock = 0x6879627269645f63

// deleteExpired runs one batch of DeleteExpired through db.
func (s *Store) deleteExpired(db *gorm.DB, now time.Time, limit int) ([]storage.Record, error) {
	deleted, err := s.deleteReturning(db, "expires_at <= ?", limit, stamp(now))
	if err != nil {
		return nil, failed("delete expired", err)
	}
	return deleted, nil
}

// Ping implements storage.Store: it reads one row of the sessions table, so
// that a missing table (Migrate not run, a wrong database) or a missing
// grant fails it, not only an unreachable server.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.WithContext(ctx).Exec("SELECT 1 FROM " + tableName + " LIMIT 1").Error; err != nil {
		return failed("ping", err)
	}
	return nil
}

// failed wraps a database error of the operation op.
func failed(op string, err error) error {
	return fmt.Errorf("gormstore: %s: %w: %w", op, core.ErrUnavailable, err)
}
