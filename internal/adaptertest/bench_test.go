package adaptertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"github.com/hybridsession/hybridsession/memstore"
)

// The benchmarks serve one request per iteration through each engine's
// ServeHTTP, with no network. Their names are key=value pairs so that
// benchstat can put the stores side by side:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./internal/adaptertest/ > new.txt
//	benchstat -col /store new.txt
//
// store=none is the bare engine without the session middleware, answering
// the same way without touching a session: the baseline.

// A benchStore is how the sessions of a benchmark are kept.
type benchStore struct {
	name string
	// manager returns a fresh manager, or nil for the bare engine.
	manager func(b *testing.B) *core.Manager
}

var (
	bare           = benchStore{"none", func(*testing.B) *core.Manager { return nil }}
	cachedMemstore = benchStore{"cached-memstore", func(b *testing.B) *core.Manager {
		return benchManager(b, memstore.New(), core.Config{})
	}}
	uncachedMemstore = benchStore{"memstore", func(b *testing.B) *core.Manager {
		return benchManager(b, memstore.New(), uncached)
	}}
	cachedSQLite = benchStore{"cached-sqlite", func(b *testing.B) *core.Manager {
		return benchManager(b, sqliteStore(b), core.Config{})
	}}
	uncachedSQLite = benchStore{"sqlite", func(b *testing.B) *core.Manager {
		return benchManager(b, sqliteStore(b), uncached)
	}}
)

var uncached = core.Config{Cache: core.CacheOptions{TTL: -1}}

func benchManager(b *testing.B, store storage.Store, cfg core.Config) *core.Manager {
	b.Helper()
	m, err := core.NewManager(store, cfg)
	if err != nil {
		b.Fatalf("NewManager: %v", err)
	}
	return m
}

// sqliteStore returns a migrated gormstore on a fresh SQLite file.
func sqliteStore(b *testing.B) storage.Store {
	b.Helper()
	db, _ := testdb.Open(b, testdb.SQLite)
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		b.Fatalf("gormstore.New: %v", err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	return store
}

// benchWriter is a ResponseWriter that keeps nothing but its header map,
// cleared for each request, so that the benchmarks measure the engines.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(int)             {}

// benchRequests runs GET path against every engine with every store: with
// a session cookie holding v=kept when withSession is set, and with the
// bare engine answering /untouched/string instead.
func benchRequests(b *testing.B, path string, withSession bool, stores ...benchStore) {
	for _, eng := range engines {
		for _, st := range stores {
			b.Run("engine="+eng.name+"/store="+st.name, func(b *testing.B) {
				m := st.manager(b)
				h := eng.build(m, &probe{})
				p := path
				if m == nil {
					p = "/untouched/string"
				}
				req := httptest.NewRequest(http.MethodGet, p, nil)
				if withSession && m != nil {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/set/string?v=kept", nil))
					cs := rec.Result().Cookies()
					if len(cs) != 1 {
						b.Fatalf("setting up a session: Set-Cookie = %v, want one cookie", cs)
					}
					req.AddCookie(cs[0])
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: status %d, want 200; body %q", p, rec.Code, rec.Body)
				}
				w := &benchWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}

// BenchmarkRead reads a value of an existing session.
func BenchmarkRead(b *testing.B) {
	benchRequests(b, "/get/string", true, bare, cachedMemstore, uncachedMemstore, uncachedSQLite)
}

// BenchmarkWrite changes one value of an existing session.
func BenchmarkWrite(b *testing.B) {
	benchRequests(b, "/incr/string", true, bare, cachedMemstore, cachedSQLite)
}

// BenchmarkNew starts a session: one value set, one record created.
func BenchmarkNew(b *testing.B) {
	benchRequests(b, "/set/string", false, bare, cachedMemstore, cachedSQLite)
}

// BenchmarkUntouched serves a route that never uses the session.
func BenchmarkUntouched(b *testing.B) {
	benchRequests(b, "/untouched/string", true, bare, cachedMemstore)
}
