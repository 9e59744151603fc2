// Command clearsessions deletes the expired sessions of a gormstore
// database, in batches, as Django's clearsessions does. Run it from cron,
// or rely on core.Manager.RunCleanup in the app instead.
//
//	go run github.com/hybridsession/hybridsession/gormstore/cmd/clearsessions@latest -dsn postgres://user@localhost/app
//
// Flags:
//
//	-dsn    postgres:// or postgresql:// URL, or else an SQLite file path
//	        (default $DATABASE_URL, or sessions.db)
//	-batch  records deleted per statement (default 1000)
//	-quiet  print nothing but errors
//
// It prints its progress every 10 batches and a summary at the end, and
// stops at SIGINT or SIGTERM, cancelling the batch under way. Exit status: 0 when done, 1 on
// any error, 2 on bad flags, 130 when interrupted (after reporting how many
// sessions it deleted).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/dbopen"
)

// progressEvery is how many batches pass between progress lines.
const progressEvery = 10

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "clearsessions:", err)
	}
	os.Exit(exitCode(err))
}

// Exit statuses, as the usage text documents them.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130 // as shells report a command killed by SIGINT
)

// exitCode is the exit status for run's error.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	default:
		return exitFailed
	}
}

var (
	// errUsage means the flags were wrong; the flag set has said why.
	errUsage = errors.New("usage")
	// errInterrupted means a signal stopped the run before it was done.
	errInterrupted = errors.New("interrupted")
)

// usage is printed for -h and bad flags, before the flags' defaults.
const usage = `Usage: clearsessions [-dsn DSN] [-batch N] [-quiet]

Clearsessions deletes the expired sessions of a gormstore database, in
batches of -batch records per statement, printing its progress every %d
batches and a summary at the end. Ctrl-C (SIGINT) or SIGTERM stops it:
the batches done stay deleted, the one under way is cancelled.

Example:

  go run github.com/hybridsession/hybridsession/gormstore/cmd/clearsessions@latest -dsn "$DATABASE_URL"

Exit status: 0 when done, 1 on any error, 2 on bad flags or arguments,
130 when interrupted (it reports how many sessions it deleted first).

Flags:
`

// run is the command: it parses args, reading defaults through getenv,
// deletes the expired sessions and reports to stdout; usage goes to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clearsessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, progressEvery)
		fs.PrintDefaults()
	}
	defaultDSN := getenv("DATABASE_URL")
	if defaultDSN == "" {
		defaultDSN = "sessions.db"
	}
	dsn := fs.String("dsn", defaultDSN, "postgres:// URL, or else an SQLite file path [DATABASE_URL]")
	batch := fs.Int("batch", storage.DefaultCleanupBatch, "records deleted per statement")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 || *batch <= 0 {
		fmt.Fprintf(stderr, "clearsessions: want a positive -batch and no arguments\n")
		fs.Usage()
		return errUsage
	}

	if !dbopen.IsPostgres(*dsn) {
		// Opening a missing file would create an empty database.
		if _, err := os.Stat(dbopen.SQLitePath(*dsn)); err != nil {
			return fmt.Errorf("sqlite database: %w", err)
		}
	}
	db, err := dbopen.Open(*dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		return err
	}

	start := time.Now()
	batches := 0
	progress := func(total int) {
		batches++
		if !*quiet && batches%progressEvery == 0 {
			fmt.Fprintf(stdout, "deleted %d expired sessions so far (%s)\n", total, since(start))
		}
	}
	n, err := storage.DeleteExpired(ctx, store, start, *batch, progress)
	switch {
	case ctx.Err() != nil:
		// n is the running total, counted before the cancellation: the
		// batches that committed, not the one that was cut off.
		return fmt.Errorf("%w after deleting %d expired sessions", errInterrupted, n)
	case err != nil:
		return fmt.Errorf("after deleting %d expired sessions: %w", n, err)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "deleted %d expired sessions in %s\n", n, since(start))
	}
	return nil
}

// since is the time since start, to the millisecond.
func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }
