package gormstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The key ring lives in the database, so that every instance tags and
// verifies tokens alike with no configuration (see storage.KeyStore).
const (
	// keysTable holds the token keys.
	keysTable = "hybrid_sessions_keys"
	// untaggedTable holds one row when the database kept sessions from
	// before tokens were tagged: since when it keeps keys.
	untaggedTable = "hybrid_sessions_untagged"
)

// keyRow is a token key. The newest key whose SignsFrom has come tags new
// tokens; every key verifies them.
type keyRow struct {
	ID        int    `gorm:"column:id;primaryKey;autoIncrement:false;not null"`
	Secret    []byte `gorm:"column:secret;not null"`
	SignsFrom stamp  `gorm:"column:signs_from;not null"`
}

// TableName tells GORM the table of keyRow.
func (keyRow) TableName() string { return keysTable }

// untaggedRow says since when the database keeps keys, if it held
// sessions from before.
type untaggedRow struct {
	Since stamp `gorm:"column:since;not null"`
}

// TableName tells GORM the table of untaggedRow.
func (untaggedRow) TableName() string { return untaggedTable }

var _ storage.KeyStore = (*Store)(nil)

// TokenKeys implements storage.KeyStore: the keys of hybrid_sessions_keys,
// the one that signs now first. When the table is empty, as after Migrate
// or the migration files, it adds the first key: callers racing to do so,
// such as instances starting together, agree on one through the primary
// key (INSERT ... ON CONFLICT DO NOTHING, then a second read).
func (s *Store) TokenKeys(ctx context.Context) (storage.TokenKeys, error) {
	db := s.db.WithContext(ctx)
	rows, err := s.keyRows(db)
	if err == nil && len(rows) == 0 {
		if err = insertKey(db, 1, time.Now()); err == nil {
			rows, err = s.keyRows(db)
		}
	}
	if err != nil {
		return storage.TokenKeys{}, failed("token keys", err)
	}
	var since []untaggedRow
	if err := db.Find(&since).Error; err != nil {
		return storage.TokenKeys{}, failed("token keys", err)
	}
	keys := storage.TokenKeys{Keys: make([]storage.TokenKey, 0, len(rows))}
	signer := signing(rows, time.Now())
	keys.Keys = append(keys.Keys, rows[signer].key())
	for i, r := range rows {
		if i != signer {
			keys.Keys = append(keys.Keys, r.key())
		}
	}
	for _, u := range since {
		if t := time.Time(u.Since); keys.UntaggedSince.IsZero() || t.Before(keys.UntaggedSince) {
			keys.UntaggedSince = t
		}
	}
	return keys, nil
}

// keyRows reads every key, the newest first.
func (s *Store) keyRows(db *gorm.DB) ([]keyRow, error) {
	var rows []keyRow
	err := db.Order("signs_from DESC, id DESC").Find(&rows).Error
	return rows, err
}

// signing returns the index in rows (newest first) of the key that signs
// at now: the newest whose time has come, else the oldest.
func signing(rows []keyRow, now time.Time) int {
	for i, r := range rows {
		if !time.Time(r.SignsFrom).After(now) {
			return i
		}
	}
	return len(rows) - 1
}

// key returns the row as a storage.TokenKey: its id's low byte goes into
// tokens.
func (r keyRow) key() storage.TokenKey {
	return storage.TokenKey{ID: byte(r.ID), Secret: r.Secret}
}

// insertKey adds key id with a new secret, unless the id is taken.
func insertKey(db *gorm.DB, id int, signsFrom time.Time) error {
	secret := make([]byte, storage.MinTokenKeyBytes)
	rand.Read(secret) // never returns an error; it crashes the program if the OS has no randomness
	return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&keyRow{ID: id, Secret: secret, SignsFrom: stamp(signsFrom)}).Error
}

// AddTokenKey adds a token key that starts signing new tokens at
// signsFrom, and returns its id. It verifies tokens at once, on every
// instance as soon as it reads the keys again (core.Config.TokenKeyRefresh,
// a minute by default): give signsFrom at least that much time, so that no
// instance sees a token tagged by a key it has not read yet. See
// docs/security.md for the whole rotation.
func (s *Store) AddTokenKey(ctx context.Context, signsFrom time.Time) (int, error) {
	var id int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&keyRow{}).Select("coalesce(max(id), 0) + 1").Scan(&id).Error; err != nil {
			return err
		}
		return insertKey(tx, id, signsFrom)
	})
	if err != nil {
		return 0, failed("add token key", err)
	}
	return id, nil
}

// ErrSigningKey is returned by RetireTokenKey for the key that signs.
var ErrSigningKey = errors.New("gormstore: the key signs new tokens; add another and let it take over first")

// RetireTokenKey deletes token key id: tokens it tagged stop working on
// every instance once it reads the keys again. Retire a key one absolute
// session lifetime after another took over signing, when every session
// whose token it tagged has expired, and nobody is logged out. The key
// signing now cannot be retired (ErrSigningKey).
func (s *Store) RetireTokenKey(ctx context.Context, id int) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows, err := s.keyRows(tx)
		if err != nil {
			return failed("retire token key", err)
		}
		if len(rows) > 0 && rows[signing(rows, time.Now())].ID == id {
			return ErrSigningKey
		}
		res := tx.Where("id = ?", id).Delete(&keyRow{})
		if res.Error != nil {
			return failed("retire token key", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("gormstore: retire token key: no key %d", id)
		}
		return nil
	})
	return err
}
