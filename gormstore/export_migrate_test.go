package gormstore

import "time"

// SetMigratePatience sets how long each DDL statement of Migrate waits for
// a lock and how often Migrate tries, for a test, and returns a function
// that restores the defaults.
func SetMigratePatience(lockTimeout time.Duration, attempts int) (restore func()) {
	oldTimeout, oldAttempts := migrateLockTimeout, migrateAttempts
	migrateLockTimeout, migrateAttempts = lockTimeout, attempts
	return func() { migrateLockTimeout, migrateAttempts = oldTimeout, oldAttempts }
}

// SchemaVersion is the version Migrate makes.
const SchemaVersion = schemaVersion

// CleanupLock is the key of the advisory lock a cleanup batch holds.
const CleanupLock = cleanupLock
