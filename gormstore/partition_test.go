package gormstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/gormstore"
)

// freezer is a TCP proxy to the database that can stop passing bytes
// without closing anything, as a network partition or a hung server does.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	thawed chan struct{} // closed while traffic flows
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thawed: make(chan struct{})}
	close(f.thawed)
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); f.thaw(); conns.Wait() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			conns.Add(2)
			go func() { defer conns.Done(); f.pipe(server, client) }()
			go func() { defer conns.Done(); f.pipe(client, server) }()
		}
	}()
	return f
}

// pipe copies src to dst, holding each chunk while frozen.
func (f *freezer) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			gate := f.thawed
			f.mu.Unlock()
			<-gate
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.thawed = make(chan struct{})
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.thawed:
	default:
		close(f.thawed)
	}
}

// An instance cut off from the database without any connection closing
// (a partition, a hung server) must neither hang nor serve what another
// instance changed meanwhile: its listener notices the silence, its cache
// is bypassed, and store calls end at StoreTimeout.
func TestPartitionedInstanceServesNothingStale(t *testing.T) {
	t.Cleanup(gormstore.SetListenCheck(200*time.Millisecond, 300*time.Millisecond))
	in, dsn := startInstances(t, 1) // b: direct
	b := in[0]
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	store, err := gormstore.New(openPool(t, u.String()), gormstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.NewManager(store, core.Config{StoreTimeout: 500 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); proxy.thaw(); wg.Wait() })
	wg.Go(func() { m.RunInvalidations(ctx) })
	a := &instance{t: t, m: m}
	a.waitCoherent()

	token := b.request("", func(s *core.Session) { s.Set("n", 1) }).Value
	if got := a.count(token); got != 1 {
		t.Fatalf("a reads %d, want 1", got)
	}
	proxy.freeze()
	start := time.Now()
	for !m.Stats().Bypassed {
		if time.Since(start) > 5*time.Second {
			t.Fatal("a kept trusting its cache 5s into the partition")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("partition noticed after %v", time.Since(start))
	b.request(token, func(s *core.Session) {
		if err := s.Destroy(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	// a cannot know about the logout: it must fail, in bounded time.
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: token})
	s, _ := m.Begin(r)
	start = time.Now()
	served := s.Has("n")
	if err := s.Err(); !errors.Is(err, core.ErrUnavailable) || served {
		t.Errorf("read during the partition: served %v, err %v; want nothing served and ErrUnavailable", served, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("read during the partition took %v, want about the 500ms StoreTimeout", d)
	}

	proxy.thaw()
	a.waitCoherent()
	if got := a.count(token); got != -1 {
		t.Errorf("after the partition a reads %d, want the session gone", got)
	}
}
