package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hybridsession/hybridsession/core"
)

// ShutdownTimeout is how long a shutdown waits for requests in flight.
const ShutdownTimeout = 10 * time.Second

// Serve listens on cfg.Addr and serves h until ctx is done (main cancels it
// on SIGINT or SIGTERM); meanwhile it keeps the session cache coherent with
// other instances (m.RunInvalidations, a no-op on SQLite) and deletes
// expired sessions every cfg.CleanupInterval, unless that is zero. On
// shutdown it stops accepting connections, waits up to ShutdownTimeout for
// requests in flight, and stops the background work. It returns nil after
// a clean shutdown.
func Serve(ctx context.Context, cfg Config, m *core.Manager, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, cfg.CleanupInterval, m, h, log)
}

// ServeListener is Serve on a listener the caller opened; it closes ln.
func ServeListener(ctx context.Context, ln net.Listener, cleanupInterval time.Duration, m *core.Manager, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { m.RunInvalidations(bgCtx) })
	if cleanupInterval > 0 {
		wg.Go(func() {
			if err := m.RunCleanup(bgCtx, cleanupInterval); err != nil {
				log.Error("session cleanup", "error", err)
			}
		})
	}
	defer func() {
		stopBackground()
		wg.Wait()
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "url", "http://"+ln.Addr().String(), "cleanup_interval", cleanupInterval)

	select {
	case err := <-served: // the listener failed
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
