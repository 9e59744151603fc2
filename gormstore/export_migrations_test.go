package gormstore

import "context"

// Current reports whether the schema of s's database is current, as
// Migrate sees it before deciding to migrate.
func Current(ctx context.Context, s *Store) (bool, error) { return s.current(s.db.WithContext(ctx)) }
