package core_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/memstore"
)

// harness drives a manager without HTTP servers: each request is Begin,
// the handler, Commit.
type harness struct {
	t     testing.TB
	m     *core.Manager
	store *storetest.Faulty
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t testing.TB, cfg core.Config) *harness {
	t.Helper()
	h := &harness{t: t, store: storetest.NewFaulty(memstore.New()), logs: &syncBuffer{}}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(h.logs, nil))
	}
	m, err := core.NewManager(h.store, cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	h.m = m
	return h
}

// response is what a request produced.
type response struct {
	header http.Header
	err    error
	cookie *http.Cookie // the session cookie set, if any
}

// do runs handler on a request carrying token (none when empty) and commits
// with status.
func (h *harness) do(token string, status int, handler func(s *core.Session)) response {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: "session", Value: token})
	}
	s, r := h.m.Begin(r)
	if got, ok := core.FromContext(r.Context()); !ok || got != s {
		h.t.Fatalf("FromContext after Begin = %p, %v; want %p, true", got, ok, s)
	}
	handler(s)
	hdr := http.Header{}
	err := s.Commit(hdr, status)
	resp := response{header: hdr, err: err}
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == "session" {
			resp.cookie = c
		}
	}
	return resp
}

// newSession makes a stored session holding key=value and returns its token.
func (h *harness) newSession(key string, value any) string {
	h.t.Helper()
	resp := h.do("", 200, func(s *core.Session) { s.Set(key, value) })
	if resp.err != nil || resp.cookie == nil {
		h.t.Fatalf("new session: err = %v, cookie = %v; want a cookie", resp.err, resp.cookie)
	}
	return resp.cookie.Value
}

func mustContain(t testing.TB, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
