package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/dbopen"
	"github.com/hybridsession/hybridsession/internal/testdb"
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
		rec := storage.Record{
			ID:        storage.RecordID(strings.Repeat("x", i+1)),
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
		{"interrupted before the first batch", cancelled, []string{"-dsn", path}, "interrupted after deleting 0 expired sessions"},
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

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
		t.Errorf("run -h error = %v, exit code %d; want flag.ErrHelp, 0", err, exitCode(err))
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
	help := stderr.String()
	for _, want := range []string{
		"Usage: clearsessions",
		"deletes the expired sessions",
		"\n  go run github.com/hybridsession/hybridsession/gormstore/cmd/clearsessions@latest -dsn \"$DATABASE_URL\"\n",
		"0 when done, 1 on any error, 2 on bad flags",
		"130 when interrupted",
		"-batch int", "-dsn string", "-quiet",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("usage text lacks %q:\n%s", want, help)
		}
	}
	// The description comes before the flags.
	if strings.Index(help, "Example:") > strings.Index(help, "-batch int") {
		t.Errorf("flags before the example:\n%s", help)
	}

	// Bad flags print the same usage text.
	stderr.Reset()
	err = run(t.Context(), []string{"-batch", "0"}, func(string) string { return "" }, &stdout, &stderr)
	if exitCode(err) != 2 || !strings.Contains(stderr.String(), "Usage: clearsessions") {
		t.Errorf("run -batch 0: error %v, exit code %d, stderr %q; want 2 and the usage", err, exitCode(err), stderr.String())
	}
}

// cancelWriter cancels a context at its first write.
type cancelWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

func TestInterrupted(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			_, dsn := testdb.Open(t, kind)
			live := fill(t, dsn, 2500, 3)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// The first progress line, after 10 batches of 100, cancels
			// the run as a Ctrl-C would: it stops before the 11th batch.
			stdout := &cancelWriter{cancel: cancel}
			var stderr bytes.Buffer
			err := run(ctx, []string{"-dsn", dsn, "-batch", "100"}, func(string) string { return "" }, stdout, &stderr)
			if !errors.Is(err, errInterrupted) {
				t.Fatalf("run error = %v, want errInterrupted", err)
			}
			left := remaining(t, dsn)
			deleted := 2500 + len(live) - len(left)
			if deleted != 1000 {
				t.Errorf("%d sessions deleted, want the 10 batches before the cancellation, 1000", deleted)
			}
			if want := fmt.Sprintf("interrupted after deleting %d expired sessions", deleted); err.Error() != want {
				t.Errorf("run error = %q, want %q, the number deleted", err, want)
			}
			if got := exitCode(err); got != 130 {
				t.Errorf("exit code = %d, want 130", got)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 0},
		{errUsage, 2},
		{fmt.Errorf("%w after deleting 7 expired sessions", errInterrupted), 130},
		{errors.New("open database: refused"), 1},
		{fmt.Errorf("after deleting 7 expired sessions: %w", context.DeadlineExceeded), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
