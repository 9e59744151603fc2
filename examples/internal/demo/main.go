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

// Main is the whole main function of an example app named name: flags →
// database → gormstore → migrate → manager → newApp → serve until SIGINT or
// SIGTERM. It exits with status 1 and a message on any error.
func Main(name, defaultAddr string, newApp func(*core.Manager) http.Handler) {
	if err := run(name, defaultAddr, newApp); err != nil {
		fmt.Fprintf(os.Stderr, "%s example: %v\n", name, err)
		os.Exit(1)
	}
}

func run(name, defaultAddr string, newApp func(*core.Manager) http.Handler) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	cfg, err := ParseConfig(name, defaultAddr, os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m, closeDB, err := Open(ctx, cfg) // database → gormstore → migrate → manager
	if err != nil {
		return err
	}
	defer closeDB()
	return Serve(ctx, cfg, m, newApp(m), log)
}
