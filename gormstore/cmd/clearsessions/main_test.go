package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/dbopen"
)

// fill makes an SQLite session database at path with expired and live
// records, and returns the ids of the live ones.
func fill(t *testing.T, path string, expired, live int) []string {
	t.Helper()
	db, err := dbopen.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	tx := db.Begin() // one commit for all the records, not one each
	store, err := gormstore.New(tx, gormstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var ids []string
	for i := range expired + live {
		expires := now.Add(-time.Minute)
		if i >= expired {
			expires = now.Add(time.Hour)
		}
		rec := core.Record{
			ID:        core.RecordID(strings.Repeat("x", i+1)),
			CreatedAt: now.Add(-2 * time.Hour),
			Deadline:  expires,
			ExpiresAt: expires,
		}
		if err := store.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if i >= expired {
			ids = append(ids, rec.ID)
		}
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// remaining returns the ids left in the database at path.
func remaining(t *testing.T, path string) []string {
	t.Helper()
	db, err := dbopen.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	var ids []string
	if err := db.Raw("SELECT id FROM hybrid_sessions ORDER BY id").Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// duration matches a duration as the command prints it.
const duration = `(\d+ms|\d+(\.\d+)?s)`

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    string // $DATABASE_URL; "DB" stands for the database's path
		output string // a regular expression
	}{
		{
			name: "progress every 10 batches",
			args: []string{"-dsn", "DB", "-batch", "100"},
			output: `^deleted 1000 expired sessions so far \(` + duration + `\)
deleted 2000 expired sessions so far \(` + duration + `\)
deleted 2500 expired sessions in ` + duration + `
$`,
		},
		{
			name:   "default batch, DSN from the environment",
			env:    "DB",
			output: `^deleted 2500 expired sessions in ` + duration + "\n$",
		},
		{
			name:   "quiet",
			args:   []string{"-dsn", "DB", "-batch", "100", "-quiet"},
			output: `^$`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "sessions.db")
			live := fill(t, path, 2500, 3)
			args := slices.Clone(tc.args)
			if i := slices.Index(args, "DB"); i >= 0 {
				args[i] = path
			}
			getenv := func(key string) string {
				if key == "DATABASE_URL" && tc.env == "DB" {
					return path
				}
				return ""
			}
			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), args, getenv, &stdout, &stderr); err != nil {
				t.Fatalf("run error = %v; stderr %q", err, stderr.String())
			}
			if !regexp.MustCompile(tc.output).MatchString(stdout.String()) {
				t.Errorf("output\n%s\nwant it to match\n%s", stdout.String(), tc.output)
			}
			slices.Sort(live)
			if got := remaining(t, path); !slices.Equal(got, live) {
				t.Errorf("remaining ids = %q, want the live ones %q", got, live)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sessions.db")
	fill(t, path, 5, 1)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		args []string
		want string // in the error
	}{
		{"bad flag", t.Context(), []string{"-nope"}, "usage"},
		{"zero batch", t.Context(), []string{"-dsn", path, "-batch", "0"}, "usage"},
		{"argument", t.Context(), []string{"-dsn", path, "extra"}, "usage"},
		{"missing SQLite file", t.Context(), []string{"-dsn", filepath.Join(dir, "none.db")}, "no such file"},
		{"no session table", t.Context(), []string{"-dsn", filepath.Join(dir, "empty.db")}, "no such table"},
		{"interrupted", cancelled, []string{"-dsn", path}, "interrupted after deleting 0 expired sessions"},
	}
	empty, err := dbopen.Open(filepath.Join(dir, "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Exec("CREATE TABLE other (x int)").Error; err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := empty.DB(); err == nil {
		sqlDB.Close()
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tc.ctx, tc.args, func(string) string { return "" }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run error = %v, want one containing %q", err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
	if got := remaining(t, path); len(got) != 6 {
		t.Errorf("%d records left after failed runs, want all 6", len(got))
	}
}
