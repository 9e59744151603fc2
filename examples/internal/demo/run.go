package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/hybridsession/hybridsession/core"
)

// Run is an example app's whole main, for the app called name with its
// default listen address and its handler newApp builds: configuration →
// database → session manager → app → serve until SIGINT or SIGTERM. An
// error is written to stderr as "<name> example: ..." and exits 1; -h
// writes the usage and exits 0.
func Run(name, defaultAddr string, newApp func(m *core.Manager, cfg Config) http.Handler) {
	if err := run(name, defaultAddr, newApp); err != nil {
		fmt.Fprintf(os.Stderr, "%s example: %v\n", name, err)
		os.Exit(1)
	}
}

func run(name, defaultAddr string, newApp func(m *core.Manager, cfg Config) http.Handler) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	cfg, err := ParseConfig(name, defaultAddr, os.Args[1:], os.Getenv, os.Stderr)
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
	m, closeDB, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()

	// Serve the app; meanwhile keep the session cache coherent with other
	// instances and delete expired sessions.
	return Serve(ctx, cfg, m, newApp(m, cfg), log)
}
