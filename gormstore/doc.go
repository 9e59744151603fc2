// Package gormstore is a storage.Store that keeps sessions in a SQL database
// through GORM: PostgreSQL (gorm.io/driver/postgres) or SQLite (for example
// the pure-Go github.com/glebarez/sqlite). Put it behind the manager's
// in-process cache, which core.NewManager does by default.
//
//	store, err := gormstore.New(db, gormstore.Options{}) // then store.Migrate(ctx)
//	m, err := core.NewManager(store, core.Config{})
//
// Records live in the table hybrid_sessions, keyed by the SHA-256 of the
// session token, never the token itself. Migrate creates the table; to
// manage the schema with your own migration tool instead, the directory
// migrations holds the same tables, indexes and trigger as SQL migration
// files in golang-migrate's layout, one directory per dialect, also
// embedded as Migrations.
//
// On PostgreSQL the store is shared by every app instance: Migrate also
// installs a trigger that announces each change with NOTIFY, and
// Invalidations lets each instance's cache follow them (run
// Manager.RunInvalidations). On SQLite it is private to one process.
//
// Times are stored in UTC to the microsecond: as timestamptz on PostgreSQL,
// and on SQLite, which has no time type, as fixed-width text
// ("2006-01-02 15:04:05.000000+00:00"), so that SQLite's text comparison
// orders them as times whatever format the driver would write.
package gormstore
