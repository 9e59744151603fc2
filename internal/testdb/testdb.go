// Package testdb gives tests a private database: an SQLite file in the
// test's temp directory, or a fresh PostgreSQL database created on the
// server named by $HYBRIDSESSION_TEST_POSTGRES and dropped afterwards.
//
// Without that variable, or when the server cannot be reached, PostgreSQL
// tests skip and say why; with HYBRIDSESSION_REQUIRE_POSTGRES=1 (CI sets
// it) they fail instead.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/internal/dbopen"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Environment variables read by this package.
const (
	PostgresEnv        = "HYBRIDSESSION_TEST_POSTGRES"
	RequirePostgresEnv = "HYBRIDSESSION_REQUIRE_POSTGRES"
)

// Kind names a database backend.
type Kind string

// The backends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Kinds lists the backends every database test runs on.
var Kinds = []Kind{SQLite, Postgres}

// Open returns a fresh, empty database of the given kind, closed (and for
// PostgreSQL dropped) when the test ends, and the DSN it was opened with.
func Open(t testing.TB, kind Kind) (*gorm.DB, string) {
	t.Helper()
	var dsn string
	switch kind {
	case SQLite:
		dsn = filepath.Join(t.TempDir(), "sessions.db")
	case Postgres:
		dsn = NewPostgres(t)
	default:
		t.Fatalf("testdb: unknown kind %q", kind)
	}
	db, err := OpenDSN(dsn)
	if err != nil {
		t.Fatalf("testdb: open %s: %v", kind, err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db, dsn
}

// OpenDSN opens a DSN as the example apps do (see internal/dbopen).
func OpenDSN(dsn string) (*gorm.DB, error) { return dbopen.Open(dsn) }

// NewPostgres creates an empty database on the server named by
// $HYBRIDSESSION_TEST_POSTGRES, drops it when the test ends, and returns its
// DSN. It skips the test (or fails it, when PostgreSQL is required) if the
// server is not available.
func NewPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		unavailable(t, PostgresEnv+" is not set")
		return ""
	}
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.WithContext(ctx).Exec("SELECT 1").Error
		cancel()
	}
	if err != nil {
		unavailable(t, fmt.Sprintf("PostgreSQL at %s is not reachable: %v", redact(base), err))
		return ""
	}
	sqlAdmin, _ := admin.DB()
	var b [6]byte
	rand.Read(b[:])
	name := "hs_test_" + hex.EncodeToString(b[:])
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		sqlAdmin.Close()
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		sqlAdmin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testdb: parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequirePostgresEnv) == "1" {
		t.Fatalf("PostgreSQL is required (%s=1) but %s", RequirePostgresEnv, why)
	}
	t.Skipf("skipping PostgreSQL test: %s (set %s to a postgres:// URL to run it)", why, PostgresEnv)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}
