package demo

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

// newCountingManager returns a manager on a store that counts its calls,
// such as the cleanup passes.
func newCountingManager(t *testing.T) (*core.Manager, *storetest.Faulty) {
	t.Helper()
	store := storetest.NewFaulty(memstore.New())
	m, err := core.NewManager(store, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m, store
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestServeListener checks that the server answers, runs the cleanup, and
// on cancellation lets a request in flight finish, then stops the cleanup
// and returns nil.
func TestServeListener(t *testing.T) {
	m, store := newCountingManager(t)
	inHandler, release := make(chan struct{}), make(chan struct{})
	h := http.NewServeMux()
	h.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- ServeListener(ctx, ln, 5*time.Millisecond, m, h, quiet) }()

	if body := get(t, base+"/ok"); body != "ok" {
		t.Fatalf("GET /ok = %q, want ok", body)
	}
	waitFor(t, "a cleanup pass", func() bool { return store.Calls(storetest.DeleteExpired) >= 2 })

	slow := make(chan string, 1)
	go func() { slow <- get(t, base+"/slow") }()
	<-inHandler
	cancel()
	select {
	case err := <-served:
		t.Fatalf("ServeListener returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if body := <-slow; body != "done" {
		t.Errorf("request in flight during shutdown got %q, want done", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("ServeListener() = %v, want nil after shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeListener did not return after its context was cancelled")
	}
	n := store.Calls(storetest.DeleteExpired)
	time.Sleep(30 * time.Millisecond)
	if got := store.Calls(storetest.DeleteExpired); got != n {
		t.Errorf("cleanup ran %d more times after shutdown", got-n)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("the listener still accepts connections after shutdown")
	}
}

func TestServeListenerCleanupOff(t *testing.T) {
	m, store := newCountingManager(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- ServeListener(ctx, ln, 0, m, http.NotFoundHandler(), quiet) }()
	get(t, "http://"+ln.Addr().String()+"/")
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("ServeListener() = %v, want nil", err)
	}
	if n := store.Calls(storetest.DeleteExpired); n != 0 {
		t.Errorf("cleanup ran %d times with interval 0, want none", n)
	}
}

func TestServeBadAddr(t *testing.T) {
	m, _ := newCountingManager(t)
	err := Serve(t.Context(), Config{Addr: "127.0.0.1:-1"}, m, http.NotFoundHandler(), quiet)
	if err == nil {
		t.Fatal("Serve on a bad address returned nil")
	}
}

func TestOpenSQLite(t *testing.T) {
	cfg := Config{DSN: filepath.Join(t.TempDir(), "s.db"), Lifetime: time.Hour}
	m, closeDB, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open(%q) error = %v", cfg.DSN, err)
	}
	defer closeDB()
	if err := m.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v", err)
	}
	if got := m.Config().Lifetime; got != time.Hour {
		t.Errorf("manager lifetime = %v, want 1h", got)
	}
	// Opening again migrates an existing table without complaint.
	m2, close2, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("second Open(%q) error = %v", cfg.DSN, err)
	}
	close2()
	_ = m2
}

func TestOpenBadDSN(t *testing.T) {
	cfg := Config{DSN: filepath.Join(t.TempDir(), "missing-dir", "s.db"), Lifetime: time.Hour}
	if _, _, err := Open(t.Context(), cfg); err == nil {
		t.Errorf("Open(%q) succeeded, want an error", cfg.DSN)
	}
	cfg.DSN = "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"
	if _, _, err := Open(t.Context(), cfg); err == nil {
		t.Errorf("Open(%q) succeeded, want an error", cfg.DSN)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
