// Command echo is the Echo example app of hybridsession: a page and a small
// JSON API whose sessions live in SQL behind an in-process cache. Run it
// from the repository root with no setup (it keeps its sessions in the
// SQLite file sessions.db):
//
//	go run ./examples/echo
//	go run ./examples/echo -dsn postgres://user@localhost/app -addr :8081
//
// Flags and their environment variables are listed by -h; the routes are
// the HTTP contract in examples/README.md, written in package echoapp.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "echo example: %v\n", err)
		os.Exit(1)
	}
}

// run is the whole setup: configuration → database → session manager →
// app → serve until SIGINT or SIGTERM.
func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	cfg, err := demo.ParseConfig("echo", "127.0.0.1:8081", os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is written
	} else if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Open the database (PostgreSQL for a postgres:// URL, else an SQLite
	// file), create or update the session table (gormstore) and make the
	// session manager on it, configured by the flags.
	m, closeDB, err := demo.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()

	// Serve the app; meanwhile keep the session cache coherent with other
	// instances and delete expired sessions.
	return demo.Serve(ctx, cfg, m, echoapp.New(m, cfg.FreshAge), log)
}
