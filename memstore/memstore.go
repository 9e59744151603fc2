// Package memstore is an in-memory storage.Store: sessions live as long as the
// process. It suits tests and single-process development; use gormstore to
// keep sessions across restarts and app servers.
//
//	m, err := core.NewManager(memstore.New(), core.Config{})
package memstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
)

// Store keeps records in a map. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	records map[string]storage.Record
	key     storage.TokenKey
}

var (
	_ storage.Store    = (*Store)(nil)
	_ storage.KeyStore = (*Store)(nil)
)

// New returns an empty store, with a token key of its own: its sessions
// live as long as the process, and so does the key.
func New() *Store {
	secret := make([]byte, storage.MinTokenKeyBytes)
	rand.Read(secret) // never returns an error; it crashes the program if the OS has no randomness
	return &Store{records: map[string]storage.Record{}, key: storage.ConfigKey(secret)}
}

// TokenKeys implements storage.KeyStore: the store's one key.
func (s *Store) TokenKeys(ctx context.Context) (storage.TokenKeys, error) {
	if err := unavailable(ctx, "token keys"); err != nil {
		return storage.TokenKeys{}, err
	}
	return storage.TokenKeys{Keys: []storage.TokenKey{s.key}}, nil
}

// Find implements storage.Store.
func (s *Store) Find(ctx context.Context, id string, now time.Time) (storage.Record, bool, error) {
	if err := unavailable(ctx, "find"); err != nil {
		return storage.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok || rec.Expired(now) {
		return storage.Record{}, false, nil
	}
	return rec, true, nil
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, rec storage.Record) error {
	if err := unavailable(ctx, "create"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[rec.ID]; ok {
		return fmt.Errorf("memstore: create: record %s exists", rec.ID)
	}
	rec.Version = 1
	s.records[rec.ID] = rec
	return nil
}

// Update implements storage.Store.
func (s *Store) Update(ctx context.Context, rec storage.Record, now time.Time) error {
	if err := unavailable(ctx, "update"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.records[rec.ID]
	if !ok || old.Expired(now) || old.Version != rec.Version {
		return fmt.Errorf("memstore: update: %w", storage.ErrConflict)
	}
	s.records[rec.ID] = storage.Updated(old, rec)
	return nil
}

// Touch implements storage.Store.
func (s *Store) Touch(ctx context.Context, id string, expiresAt, lastSeenAt, now time.Time) error {
	if err := unavailable(ctx, "touch"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.records[id]; ok && !rec.Expired(now) {
		rec.ExpiresAt = expiresAt
		if lastSeenAt.After(rec.LastSeenAt) {
			rec.LastSeenAt = lastSeenAt
		}
		s.records[id] = rec
	}
	return nil
}

// UpdateLocked implements storage.Store: the store's lock keeps every other
// writer out while change runs.
func (s *Store) UpdateLocked(ctx context.Context, id string, now time.Time, change func(storage.Record) (storage.Record, error)) error {
	if err := unavailable(ctx, "update locked"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.records[id]
	if !ok || cur.Expired(now) {
		return fmt.Errorf("memstore: update locked: %w", storage.ErrConflict)
	}
	rec, err := change(cur)
	if err != nil {
		return err
	}
	s.records[id] = storage.Updated(cur, rec)
	return nil
}

// Replace implements storage.Store.
func (s *Store) Replace(ctx context.Context, oldID string, oldVersion int64, rec storage.Record, now time.Time) error {
	if err := unavailable(ctx, "replace"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.records[oldID]
	if !ok || old.Expired(now) || old.Version != oldVersion {
		return fmt.Errorf("memstore: replace: %w", storage.ErrConflict)
	}
	if _, ok := s.records[rec.ID]; ok {
		return fmt.Errorf("memstore: replace: record %s exists", rec.ID)
	}
	delete(s.records, oldID)
	rec.Version = 1
	s.records[rec.ID] = rec
	return nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, id string) ([]storage.Record, error) {
	if err := unavailable(ctx, "delete"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok {
		return nil, nil
	}
	delete(s.records, id)
	return []storage.Record{{ID: id, UserID: rec.UserID, Handle: rec.Handle}}, nil
}

// ListUser implements storage.Store.
func (s *Store) ListUser(ctx context.Context, userID string, now time.Time) ([]storage.Record, error) {
	if err := unavailable(ctx, "list user"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []storage.Record
	for _, rec := range s.records {
		if rec.UserID == userID && !rec.Expired(now) {
			rec.Data = nil
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// DeleteUser implements storage.Store.
func (s *Store) DeleteUser(ctx context.Context, userID, keepID string) ([]storage.Record, error) {
	return s.deleteWhere(ctx, "delete user", 0, func(rec storage.Record) bool { return rec.UserID == userID && rec.ID != keepID })
}

// DeleteExpired implements storage.Store.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) ([]storage.Record, error) {
	return s.deleteWhere(ctx, "delete expired", limit, func(rec storage.Record) bool { return rec.Expired(now) })
}

// DeleteAll implements storage.Store.
func (s *Store) DeleteAll(ctx context.Context, limit int) ([]storage.Record, error) {
	return s.deleteWhere(ctx, "delete all", limit, func(storage.Record) bool { return true })
}

// deleteWhere removes at most limit records (any number when limit is 0)
// that match, and returns their ID, UserID and Handle.
func (s *Store) deleteWhere(ctx context.Context, op string, limit int, match func(storage.Record) bool) ([]storage.Record, error) {
	if err := unavailable(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed []storage.Record
	for id, rec := range s.records {
		if limit > 0 && len(removed) == limit {
			break
		}
		if match(rec) {
			removed = append(removed, storage.Record{ID: id, UserID: rec.UserID, Handle: rec.Handle})
			delete(s.records, id)
		}
	}
	return removed, nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := unavailable(ctx, "ping"); err != nil {
		return err
	}
	return nil
}

// unavailable gives the error of a call made with a done context, as a
// store whose backend timed out would.
func unavailable(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w: %w", op, core.ErrUnavailable, err)
	}
	return nil
}
